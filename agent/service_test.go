package agent_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type run struct {
	vm  string
	at  time.Time
	err error
}

// serviceRig is a real server on a fake clock, an agent token of HV01, an
// inventory file of three VMs (SQL01 and SQL02 with real disk files) and a
// nightly schedule of SQL* from 22:00 to 04:00 UTC.
type serviceRig struct {
	s     *testserver.Server
	clk   *clock
	token string
	inv   string
}

func newServiceRig(t *testing.T) *serviceRig {
	clk := &clock{t: time.Date(2026, 6, 10, 21, 30, 0, 0, time.UTC)}
	s := testserver.Start(t, testserver.Options{Now: clk.Now})
	_, token, err := s.Tokens.Create(apiv1.RoleAgent, "HV01")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var vms []apiv1.InventoryVM
	for i, name := range []string{"SQL01", "SQL02", "WEB01"} {
		p := filepath.Join(dir, name+".raw")
		if err := os.WriteFile(p, randBytes(int64(i+1), 300_000), 0o600); err != nil {
			t.Fatal(err)
		}
		vms = append(vms, apiv1.InventoryVM{Name: name, State: "running", Disks: []apiv1.InventoryDisk{{Path: p}}})
	}
	inv := filepath.Join(dir, "inventory.json")
	data, _ := json.Marshal(apiv1.InventoryReport{VMs: vms})
	if err := os.WriteFile(inv, data, 0o600); err != nil {
		t.Fatal(err)
	}
	body := `{"hosts":"HV01","vms":"SQL*","window":{"start":"22:00","end":"04:00","time_zone":"UTC"}}`
	if err := s.Client("").Do(context.Background(), "PUT", "/api/v1/schedules/nightly", strings.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatal(err)
	}
	return &serviceRig{s: s, clk: clk, token: token, inv: inv}
}

func randBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// loop runs the service until the fake clock reaches until; every sleep
// moves the clock. It returns the runs, in order.
func (r *serviceRig) loop(t *testing.T, until time.Time, key string, wrap func(agent.RunFunc) agent.RunFunc) []run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := r.s.Client(r.token)
	direct := agent.DirectRun(c, agent.BackupOptions{Host: "HV01", ReceiptKey: key, Log: quietLog()})
	if wrap != nil {
		direct = wrap(direct)
	}
	var runs []run
	err := agent.RunService(ctx, c, agent.ServiceOptions{
		Host: "HV01", Inventory: agent.InventoryFile(r.inv), Now: r.clk.Now, Jitter: func() float64 { return 0 },
		Log: quietLog(),
		Run: func(ctx context.Context, item apiv1.PlanItem) error {
			err := direct(ctx, item)
			runs = append(runs, run{vm: item.VM, at: r.clk.Now(), err: err})
			r.clk.add(time.Second) // a backup takes time
			return err
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			if d <= 0 {
				t.Fatalf("the loop slept %v", d)
			}
			r.clk.add(d)
			if !r.clk.Now().Before(until) {
				cancel()
			}
			return ctx.Err()
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunService = %v, want context.Canceled", err)
	}
	return runs
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func snapshotsOf(t *testing.T, s *testserver.Server, vm string) int {
	t.Helper()
	var list apiv1.SnapshotList
	if err := s.Client("").Do(context.Background(), "GET", "/api/v1/snapshots?vm="+vm, nil, 0, &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Snapshots)
}

// TestServiceBacksUpDueVMsOnce: over a whole night, each due VM is backed up
// once, inside its window and not before it; a VM no schedule selects is
// left alone; the next night each is backed up once more.
func TestServiceBacksUpDueVMsOnce(t *testing.T) {
	r := newServiceRig(t)
	key := hex.EncodeToString(r.s.Key)
	runs := r.loop(t, time.Date(2026, 6, 11, 12, 0, 0, 0, time.UTC), key, nil)
	got := map[string]int{}
	for _, x := range runs {
		if x.err != nil {
			t.Errorf("run of %s at %v: %v", x.vm, x.at, x.err)
		}
		if x.at.Before(time.Date(2026, 6, 10, 22, 0, 0, 0, time.UTC)) || !x.at.Before(time.Date(2026, 6, 11, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("%s backed up at %v, outside its window", x.vm, x.at)
		}
		got[x.vm]++
	}
	if got["SQL01"] != 1 || got["SQL02"] != 1 || got["WEB01"] != 0 {
		t.Fatalf("runs %v, want SQL01 and SQL02 once, WEB01 never", got)
	}
	for vm, want := range map[string]int{"SQL01": 1, "SQL02": 1, "WEB01": 0} {
		if n := snapshotsOf(t, r.s, vm); n != want {
			t.Errorf("%s: %d snapshots, want %d", vm, n, want)
		}
	}
	runs = r.loop(t, time.Date(2026, 6, 12, 12, 0, 0, 0, time.UTC), key, nil)
	if len(runs) != 2 {
		t.Fatalf("second night: %d runs, want 2", len(runs))
	}
	var st apiv1.ScheduleStatusList
	if err := r.s.Client("").Do(context.Background(), "GET", "/api/v1/schedules/status", nil, 0, &st); err != nil {
		t.Fatal(err)
	}
	for _, row := range st.VMs {
		if row.Missed {
			t.Errorf("%s missed with the agent running: %+v", row.VM, row)
		}
	}
}

// TestServiceRetriesWithBackoff: a failing backup is tried again after 1,
// 2, 4... minutes (capped), and once it succeeds it is not run again; a
// 409 (the VM's backup already running) is tried again after the minimum
// without growing the backoff.
func TestServiceRetriesWithBackoff(t *testing.T) {
	r := newServiceRig(t)
	key := hex.EncodeToString(r.s.Key)
	fails := map[string]int{"SQL01": 5, "SQL02": 3}
	runs := r.loop(t, time.Date(2026, 6, 11, 6, 0, 0, 0, time.UTC), key, func(next agent.RunFunc) agent.RunFunc {
		return func(ctx context.Context, item apiv1.PlanItem) error {
			if fails[item.VM] > 0 {
				fails[item.VM]--
				if item.VM == "SQL02" {
					return fmt.Errorf("open session: %w", agent.ErrBusy)
				}
				return fmt.Errorf("upload: %w", agent.ErrNetwork)
			}
			return next(ctx, item)
		}
	})
	at := map[string][]time.Time{}
	for _, x := range runs {
		at[x.vm] = append(at[x.vm], x.at)
	}
	if len(at["SQL01"]) != 6 || len(at["SQL02"]) != 4 {
		t.Fatalf("runs %v, want SQL01 6 times (5 failures) and SQL02 4 (3 busy)", at)
	}
	for i, want := range []time.Duration{1, 2, 4, 8, 16} {
		gap := at["SQL01"][i+1].Sub(at["SQL01"][i])
		if gap < want*time.Minute || gap > want*time.Minute+time.Minute {
			t.Errorf("SQL01 retry %d after %v, want about %v", i+1, gap, want*time.Minute)
		}
	}
	for i := 1; i < 4; i++ {
		if gap := at["SQL02"][i].Sub(at["SQL02"][i-1]); gap < time.Minute || gap > 2*time.Minute {
			t.Errorf("SQL02 busy retry %d after %v, want about a minute", i, gap)
		}
	}
	if n := snapshotsOf(t, r.s, "SQL01"); n != 1 {
		t.Errorf("SQL01: %d snapshots, want 1", n)
	}
}

func TestBackoffCapped(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n < 40; n++ {
		d := agent.Backoff(n, time.Minute, 30*time.Minute, 0.99)
		if d < prev || d > 30*time.Minute || d < time.Minute {
			t.Fatalf("Backoff(%d) = %v after %v", n, d, prev)
		}
		prev = d
	}
	if prev != 30*time.Minute {
		t.Fatalf("backoff tops out at %v, want 30m", prev)
	}
}

// TestServiceChecksTheReceipt: an agent that pinned another key refuses
// the server's receipt: each backup fails (ErrVerify), so nothing tells VSS
// it succeeded. (The server stored the snapshot, so its plan no longer
// lists the VM: it cannot tell that the agent refused the receipt.)
func TestServiceChecksTheReceipt(t *testing.T) {
	r := newServiceRig(t)
	other, _, _ := ed25519.GenerateKey(nil)
	runs := r.loop(t, time.Date(2026, 6, 10, 22, 30, 0, 0, time.UTC), hex.EncodeToString(other), nil)
	if len(runs) != 2 || runs[0].vm == runs[1].vm {
		t.Fatalf("runs %+v, want one of each VM", runs)
	}
	for _, x := range runs {
		if !errors.Is(x.err, agent.ErrVerify) {
			t.Errorf("run of %s: %v, want a verification failure", x.vm, x.err)
		}
	}
}

// TestBusySessionIsErrBusy: a session refused with 409 is ErrBusy, which
// the loop waits out (the real 409 comes with job history).
func TestBusySessionIsErrBusy(t *testing.T) {
	// A real server with a session of HV01/SQL01 in flight: the agent's
	// backup of that VM meets the server's 409 SESSION_CONFLICT.
	s := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	if _, err := s.Client("").OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "SQL01", BackupType: apiv1.BackupFull, Consistency: "application"}); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(t.TempDir(), "d.raw")
	if err := os.WriteFile(disk, randBytes(9, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := agent.Backup(ctx, s.Client(""), agent.BackupOptions{Host: "HV01", VM: "SQL01", Type: apiv1.BackupFull,
		Disks: []string{disk}, ReceiptKey: hex.EncodeToString(s.Key), Log: quietLog()})
	if !errors.Is(err, agent.ErrBusy) {
		t.Fatalf("Backup = %v, want ErrBusy", err)
	}
	// Another VM of the host is not busy.
	if _, err := agent.Backup(ctx, s.Client(""), agent.BackupOptions{Host: "HV01", VM: "SQL02", Type: apiv1.BackupFull,
		Disks: []string{disk}, ReceiptKey: hex.EncodeToString(s.Key), Log: quietLog()}); err != nil {
		t.Fatalf("backup of another VM: %v", err)
	}
}
