package retry

import (
	"context"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
)

var _ backend.Locker = (*Backend)(nil)

// LockPolicy returns the policy of the wrapped backend, or a disabled one
// when it locks nothing.
func (b *Backend) LockPolicy() backend.LockPolicy {
	if l, ok := b.Backend.(backend.Locker); ok {
		return l.LockPolicy()
	}
	return backend.LockPolicy{}
}

// LockedUntil returns h's retention date.
func (b *Backend) LockedUntil(ctx context.Context, h backend.Handle) (until time.Time, err error) {
	l, ok := b.Backend.(backend.Locker)
	if !ok {
		return time.Time{}, nil
	}
	err = b.do(ctx, "retention", h, func() error {
		until, err = l.LockedUntil(ctx, h)
		return err
	})
	return until, err
}

// ExtendLock sets h's retention date to until.
func (b *Backend) ExtendLock(ctx context.Context, h backend.Handle, until time.Time) error {
	l, ok := b.Backend.(backend.Locker)
	if !ok {
		return nil
	}
	return b.do(ctx, "extend lock", h, func() error { return l.ExtendLock(ctx, h, until) })
}

// Purge deletes the removed versions of type t whose retention passed. A
// purge that fails part way is started again; what it deleted is gone.
func (b *Backend) Purge(ctx context.Context, t backend.Type) (st backend.PurgeStats, err error) {
	l, ok := b.Backend.(backend.Locker)
	if !ok {
		return st, nil
	}
	var total backend.PurgeStats
	err = b.do(ctx, "purge", t, func() error {
		st, err = l.Purge(ctx, t)
		total.VersionsDeleted += st.VersionsDeleted
		total.BytesFreed += st.BytesFreed
		total.VersionsLocked, total.BytesLocked, total.NextUnlock = st.VersionsLocked, st.BytesLocked, st.NextUnlock
		return err
	})
	return total, err
}

// Revert reverts the objects of type t that want names; a revert that
// fails part way is started again (what it reverted stays reverted).
func (b *Backend) Revert(ctx context.Context, t backend.Type, want func(string) bool) (n int, err error) {
	l, ok := b.Backend.(backend.Locker)
	if !ok {
		return 0, nil
	}
	total := 0
	err = b.do(ctx, "revert", t, func() error {
		n, err = l.Revert(ctx, t, want)
		total += n
		return err
	})
	return total, err
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }
