package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

// The service mode (`shadowvault agent run`): the agent holds its server
// URL, its token and the pinned receipt key, and nothing else. Each round
// it reports its host's inventory, pulls the host's plan and runs what is
// due, one backup at a time (so never two of one VM at once), then sleeps
// until the plan's next poll or the next retry. A failed backup is retried
// with exponential backoff and jitter; a session the server refuses with
// 409 (a backup of that VM in flight, from anywhere) is tried again after
// the shortest backoff, without counting as a failure.

// Service backoff defaults.
const (
	DefaultMinBackoff = time.Minute
	DefaultMaxBackoff = 30 * time.Minute
)

// RunFunc runs one due backup and returns only once its receipt verified
// (or with the error that stopped it).
type RunFunc func(ctx context.Context, item apiv1.PlanItem) error

// ServiceOptions configure the service loop. Now and Sleep are the clock,
// so that tests run it on a fake one.
type ServiceOptions struct {
	Host string
	// Inventory finds the host's VMs (Hyper-V, or a file); nil reports none.
	Inventory func(ctx context.Context) ([]apiv1.InventoryVM, error)
	Run       RunFunc
	Now       func() time.Time
	// Sleep waits d or until ctx is done (then it returns ctx's error).
	Sleep      func(ctx context.Context, d time.Duration) error
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Jitter returns a number in [0, 1); a retry waits the backoff times
	// 1 + Jitter()/2 (never past MaxBackoff).
	Jitter func() float64
	Log    *slog.Logger
}

// SleepContext waits d, or until ctx is done.
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *ServiceOptions) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = SleepContext
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Backoff is the wait after the n-th failure in a row (n >= 1): the
// minimum doubled n-1 times, times 1 + jitter/2, capped at the maximum.
func Backoff(n int, minWait, maxWait time.Duration, jitter float64) time.Duration {
	d := minWait
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (1 + jitter/2))
	return min(d, maxWait)
}

// retryState is what the loop remembers of one VM's failures.
type retryState struct {
	failures int
	at       time.Time // not before
}

// RunService runs the loop until ctx is done, and returns ctx's error.
func RunService(ctx context.Context, c *Client, o ServiceOptions) error {
	o.defaults()
	retry := map[string]*retryState{}
	planFailures := 0
	for {
		wait := o.round(ctx, c, retry, &planFailures)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := o.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// round is one pass: inventory, plan, due backups. It returns how long
// to wait before the next.
func (o *ServiceOptions) round(ctx context.Context, c *Client, retry map[string]*retryState, planFailures *int) time.Duration {
	if err := o.reportInventory(ctx, c); err != nil {
		o.Log.Warn("inventory not reported", "err", err)
	}
	var plan apiv1.Plan
	if err := c.Do(ctx, http.MethodGet, "/api/v1/plan?host="+url.QueryEscape(o.Host), nil, 0, &plan); err != nil {
		*planFailures++
		wait := Backoff(*planFailures, o.MinBackoff, o.MaxBackoff, o.Jitter())
		o.Log.Warn("plan not fetched", "err", err, "retry_in", wait.Round(time.Second))
		return wait
	}
	*planFailures = 0
	wait := time.Duration(plan.NextPollSeconds) * time.Second
	if wait <= 0 {
		wait = o.MinBackoff
	}
	for _, item := range plan.Due {
		if ctx.Err() != nil {
			return 0
		}
		st := retry[item.VM]
		now := o.Now()
		switch {
		case st != nil && now.Before(st.at):
			wait = min(wait, st.at.Sub(now))
			continue
		case !item.NotAfter.IsZero() && !now.Before(item.NotAfter):
			o.Log.Warn("backup window over; left for the next one", "vm", item.VM, "schedule", item.Schedule)
			continue
		}
		if next := o.runOne(ctx, item, retry); next > 0 {
			wait = min(wait, next)
		}
	}
	return wait
}

// runOne runs one backup and updates its retry state; it returns the
// wait before a retry (0 after a success).
func (o *ServiceOptions) runOne(ctx context.Context, item apiv1.PlanItem, retry map[string]*retryState) time.Duration {
	log := o.Log.With("vm", item.VM, "schedule", item.Schedule)
	log.Info("scheduled backup starting", "type", item.BackupType, "incremental", item.Incremental, "disks", len(item.Disks))
	err := o.Run(ctx, item)
	if err == nil {
		delete(retry, item.VM)
		log.Info("scheduled backup complete: receipt verified")
		return 0
	}
	if ctx.Err() != nil {
		return 0
	}
	st := retry[item.VM]
	if st == nil {
		st = &retryState{}
		retry[item.VM] = st
	}
	var wait time.Duration
	if errors.Is(err, ErrBusy) {
		wait = o.MinBackoff
		log.Info("a backup of this VM is already running; trying later", "retry_in", wait)
	} else {
		st.failures++
		wait = Backoff(st.failures, o.MinBackoff, o.MaxBackoff, o.Jitter())
		log.Error("scheduled backup failed", "err", err, "failures", st.failures, "retry_in", wait.Round(time.Second))
	}
	st.at = o.Now().Add(wait)
	return wait
}

func (o *ServiceOptions) reportInventory(ctx context.Context, c *Client) error {
	if o.Inventory == nil {
		return nil
	}
	vms, err := o.Inventory(ctx)
	if err != nil {
		return fmt.Errorf("find VMs: %w", err)
	}
	if vms == nil {
		vms = []apiv1.InventoryVM{}
	}
	return c.DoJSON(ctx, http.MethodPut, "/api/v1/hosts/"+url.PathEscape(o.Host)+"/inventory", apiv1.InventoryReport{VMs: vms}, nil)
}

// DirectRun runs each due backup in this process with agent.Backup, from
// base (host, receipt key, parallelism, log): the disks, backup type and
// incremental setting come from the plan, and the session names the
// schedule. The receipt is checked exactly as `shadowvault backup` checks
// it. Without VSS, the backup is crash-consistent.
func DirectRun(c *Client, base BackupOptions) RunFunc {
	return func(ctx context.Context, item apiv1.PlanItem) error {
		o := base
		o.VM, o.Disks, o.Type, o.Incremental, o.Schedule = item.VM, item.Disks, item.BackupType, item.Incremental, item.Schedule
		_, err := Backup(ctx, c, o)
		return err
	}
}
