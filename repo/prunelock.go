package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// What a prune does under Object Lock: it renews the locks of what the
// catalogue keeps, and purges what earlier removals left locked.

// purge deletes the versions of removed objects whose retention has
// passed, of every type (unlocked types too: a versioned bucket keeps the
// old versions of rewritten tokens and policies).
func (r *Repository) purge(ctx context.Context, l backend.Locker, res *PruneResult) error {
	for _, t := range backend.Types {
		st, err := l.Purge(ctx, t)
		if err != nil {
			return fmt.Errorf("purge %s: %w", t, err)
		}
		res.BytesPurged += st.BytesFreed
		res.BytesLocked += st.BytesLocked
		if !st.NextUnlock.IsZero() && (res.LockedUntil.IsZero() || st.NextUnlock.Before(res.LockedUntil)) {
			res.LockedUntil = st.NextUnlock
		}
	}
	return nil
}

// renewLocks keeps every snapshot in the catalogue immutable for at least
// the lock period from now: each prune extends the locks of the packs with
// live chunks, the live disk maps, the listed manifests, the config and
// the keys. The cache makes this one request per object per slack.
func (r *Repository) renewLocks(ctx context.Context, l backend.Locker, uses map[chunk.ID]*packUse, maps map[chunk.ID]bool, now time.Time) (int, error) {
	var hs []backend.Handle
	for id, u := range uses {
		if u.live > 0 {
			hs = append(hs, backend.Handle{Type: backend.TypePack, Name: id.String()})
		}
	}
	for id := range maps {
		hs = append(hs, backend.Handle{Type: backend.TypeDiskMap, Name: id.String()})
	}
	snaps, err := r.Snapshots(Filter{})
	if err != nil {
		return 0, err
	}
	for _, m := range snaps {
		hs = append(hs, backend.Handle{Type: backend.TypeSnapshot, Name: m.ID})
	}
	for _, t := range []backend.Type{backend.TypeConfig, backend.TypeKeys} {
		err := r.be.List(ctx, t, func(fi backend.ObjectInfo) error {
			hs = append(hs, fi.Handle)
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", t, err)
		}
	}
	n, err := r.ensureLocked(ctx, l, hs, now.Add(l.LockPolicy().Period).UTC(), true)
	if err != nil {
		return n, fmt.Errorf("renew locks: %w", err)
	}
	return n, nil
}
