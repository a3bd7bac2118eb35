package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// The maintenance lease is one object, leases/maintenance, that only a
// compare-and-swap writes: created with If-None-Match: *, renewed,
// released and taken over with If-Match on the ETag read. The storage
// decides which of two writers wins, so two nodes never both hold it.
//
// A lease is free when its record says so (released), or when it has
// expired: its expiry (the holder's clock) lies more than half a lease in
// the past (a clock skew of up to half a lease is harmless), or this node
// has seen the same ETag unchanged for a whole lease (no clock at all).
// The holder renews it every quarter of a lease and gives up its job when it
// cannot renew for two thirds of a lease: a node that dies holding it
// blocks maintenance for at most 1.5 leases.

var leaseHandle = backend.Handle{Type: backend.TypeLease, Name: "maintenance"}

// leaseRecord is the lease object.
type leaseRecord struct {
	Node    string    `json:"node"` // "" when released
	Job     string    `json:"job,omitempty"`
	Taken   time.Time `json:"taken,omitzero"`
	Expires time.Time `json:"expires,omitzero"`
}

// heldLease is a lease this node holds.
type heldLease struct {
	c      *cluster
	rec    leaseRecord
	tag    string
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// acquire takes the maintenance lease for job, or returns
// ErrMaintenanceElsewhere. The returned context ends when the lease is
// lost; release gives the lease up.
func (c *cluster) acquire(ctx context.Context, job string) (context.Context, func(), error) {
	now := c.r.now()
	rec := leaseRecord{Node: c.node, Job: job, Taken: now.UTC(), Expires: now.Add(c.lease).UTC()}
	data, _ := json.Marshal(rec)
	cur, tag, err := c.swap.GetTagged(ctx, leaseHandle)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		tag, err = c.swap.PutIf(ctx, leaseHandle, data, "")
	case err != nil:
		return nil, nil, fmt.Errorf("read the maintenance lease: %w", err)
	default:
		var held leaseRecord
		if json.Unmarshal(cur, &held) == nil && !c.leaseFree(held, tag, now) {
			return nil, nil, fmt.Errorf("%w: node %s runs %s since %s", ErrMaintenanceElsewhere, held.Node, held.Job, held.Taken.Format(time.RFC3339))
		}
		tag, err = c.swap.PutIf(ctx, leaseHandle, data, tag)
	}
	if errors.Is(err, backend.ErrPrecondition) {
		return nil, nil, fmt.Errorf("%w: another node took the lease first", ErrMaintenanceElsewhere)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("take the maintenance lease: %w", err)
	}
	jctx, cancel := context.WithCancelCause(ctx)
	h := &heldLease{c: c, rec: rec, tag: tag, cancel: cancel, done: make(chan struct{})}
	go h.renew(jctx, rec)
	c.r.log.Info("maintenance lease taken", "node", c.node, "job", job)
	return jctx, h.release, nil
}

// leaseFree reports whether a lease another node wrote may be taken.
func (c *cluster) leaseFree(held leaseRecord, tag string, now time.Time) bool {
	if held.Node == "" || now.After(held.Expires.Add(c.lease/2)) {
		return true
	}
	c.leaseMu.Lock()
	defer c.leaseMu.Unlock()
	if c.leaseTag != tag {
		c.leaseTag, c.leaseSeen = tag, time.Now()
		return false
	}
	return time.Since(c.leaseSeen) >= c.lease
}

// renew extends the lease every quarter of its length until released. A
// renewal that fails for a slow or flaky storage is tried again; when the
// lease is lost to another node, or two thirds of it passed since the last
// renewal (another node may take it after a whole lease), the job is
// cancelled.
func (h *heldLease) renew(ctx context.Context, rec leaseRecord) {
	defer close(h.done)
	lease := h.c.lease
	lastOK := time.Now()
	wait := lease / 4
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		rec.Expires = h.c.r.now().Add(lease).UTC()
		data, _ := json.Marshal(rec)
		rctx, cancel := context.WithTimeout(ctx, lease/4)
		tag, err := h.c.swap.PutIf(rctx, leaseHandle, data, h.tag)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			h.tag, lastOK, wait = tag, time.Now(), lease/4
			continue
		}
		if !errors.Is(err, backend.ErrPrecondition) && time.Since(lastOK) < 2*lease/3 {
			h.c.r.log.Warn("maintenance lease renewal failed; trying again", "node", h.c.node, "err", err)
			wait = lease / 20
			continue
		}
		h.c.r.log.Error("maintenance lease lost: the job stops", "node", h.c.node, "err", err)
		h.cancel(fmt.Errorf("%w: %w", ErrLeaseLost, err))
		return
	}
}

// release stops the renewals and marks the lease free.
func (h *heldLease) release() {
	h.cancel(context.Canceled)
	<-h.done
	data, _ := json.Marshal(leaseRecord{})
	ctx, cancel := context.WithTimeout(context.Background(), h.c.lease)
	defer cancel()
	_, err := h.c.swap.PutIf(ctx, leaseHandle, data, h.tag)
	if errors.Is(err, backend.ErrPrecondition) {
		// A renewal cancelled in flight may have landed: if the lease is
		// still this one, release it under its new tag.
		var cur leaseRecord
		b, tag, gerr := h.c.swap.GetTagged(ctx, leaseHandle)
		if gerr == nil && json.Unmarshal(b, &cur) == nil && cur.Node == h.rec.Node && cur.Taken.Equal(h.rec.Taken) {
			_, err = h.c.swap.PutIf(ctx, leaseHandle, data, tag)
		}
	}
	if err != nil {
		h.c.r.log.Warn("maintenance lease not released; it expires", "node", h.c.node, "err", err)
	}
}
