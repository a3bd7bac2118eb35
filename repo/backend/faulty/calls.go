package faulty

import (
	"context"
	"io"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// enter counts a call of op, waits for its gate and latency, and returns
// the fault that applies to it, if any.
func (f *Backend) enter(ctx context.Context, op Op, t backend.Type) (*Fault, error) {
	f.mu.Lock()
	f.calls[op]++
	call := f.calls[op]
	gate, latency := f.gates[op], f.latency
	var fault *Fault
	for i := range f.faults[op] {
		if f.faults[op][i].covers(call) && (f.faults[op][i].Type == "" || f.faults[op][i].Type == t) {
			ft := f.faults[op][i]
			fault = &ft
			break
		}
	}
	f.mu.Unlock()

	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if latency > 0 {
		timer := time.NewTimer(latency)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return fault, nil
}

// Put stores through the inner backend unless a fault says otherwise.
func (f *Backend) Put(ctx context.Context, h backend.Handle, r io.ReadSeeker, size int64) error {
	fault, err := f.enter(ctx, OpPut, h.Type)
	switch {
	case err != nil:
		return err
	case fault == nil:
		return f.Backend.Put(ctx, h, r, size)
	case fault.After:
		if err := f.Backend.Put(ctx, h, r, size); err != nil {
			return err
		}
	}
	return fault.Err
}

// ReadAt reads through the inner backend unless a fault says otherwise.
func (f *Backend) ReadAt(ctx context.Context, h backend.Handle, p []byte, off int64) (int, error) {
	fault, err := f.enter(ctx, OpReadAt, h.Type)
	switch {
	case err != nil:
		return 0, err
	case fault == nil:
		return f.Backend.ReadAt(ctx, h, p, off)
	case fault.Short:
		n, err := f.Backend.ReadAt(ctx, h, p[:len(p)/2], off)
		if err != nil {
			return n, err
		}
		return n, fault.Err
	case fault.After:
		n, err := f.Backend.ReadAt(ctx, h, p, off)
		if err != nil {
			return n, err
		}
		return n, fault.Err
	}
	return 0, fault.Err
}

// Stat asks the inner backend unless a fault says otherwise.
func (f *Backend) Stat(ctx context.Context, h backend.Handle) (backend.ObjectInfo, error) {
	fault, err := f.enter(ctx, OpStat, h.Type)
	switch {
	case err != nil:
		return backend.ObjectInfo{}, err
	case fault == nil:
		return f.Backend.Stat(ctx, h)
	case fault.After:
		if _, err := f.Backend.Stat(ctx, h); err != nil {
			return backend.ObjectInfo{}, err
		}
	}
	return backend.ObjectInfo{}, fault.Err
}

// List lists through the inner backend unless a fault says otherwise. With
// After, the whole listing is delivered and then fails.
func (f *Backend) List(ctx context.Context, t backend.Type, fn func(backend.ObjectInfo) error) error {
	fault, err := f.enter(ctx, OpList, t)
	switch {
	case err != nil:
		return err
	case fault == nil:
		return f.Backend.List(ctx, t, fn)
	case fault.After:
		if err := f.Backend.List(ctx, t, fn); err != nil {
			return err
		}
	}
	return fault.Err
}

// Remove removes through the inner backend unless a fault says otherwise.
func (f *Backend) Remove(ctx context.Context, h backend.Handle) error {
	fault, err := f.enter(ctx, OpRemove, h.Type)
	switch {
	case err != nil:
		return err
	case fault == nil:
		return f.Backend.Remove(ctx, h)
	case fault.After:
		if err := f.Backend.Remove(ctx, h); err != nil {
			return err
		}
	}
	return fault.Err
}
