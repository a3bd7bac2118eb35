package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Object Lock (S3): the backend writes packs, disk maps, manifests, writer
// metadata, the config and the keys with a retention date. A snapshot is
// immutable until its commit time plus the lock period: before its
// manifest is stored, every object it needs is locked at least that long.
// A new pack is locked long enough when it is written; an old one that the
// snapshot reuses through dedup gets its lock extended (to now + period +
// slack, so at most once per slack), and the date is cached in the index.

// lockWorkers bounds the retention requests in flight.
const lockWorkers = 8

// LockPolicy returns the repository's Object Lock policy (disabled when
// its storage locks nothing).
func (r *Repository) LockPolicy() backend.LockPolicy {
	if l := backend.LockerOf(r.be); l != nil {
		return l.LockPolicy()
	}
	return backend.LockPolicy{}
}

// lockHandles are the objects a snapshot of these disk maps needs: the
// packs of their chunks, the maps themselves, the config and the keys.
func (r *Repository) lockHandles(ctx context.Context, maps []*diskmap.Map, ids []chunk.ID) ([]backend.Handle, error) {
	packs, err := r.idx.PacksOf(func(report func(chunk.ID)) {
		for _, m := range maps {
			m.Chunks(report)
		}
	})
	if err != nil {
		return nil, err
	}
	hs := make([]backend.Handle, 0, len(packs)+len(ids)+4)
	for p := range packs {
		hs = append(hs, backend.Handle{Type: backend.TypePack, Name: p.String()})
	}
	for _, id := range ids {
		hs = append(hs, backend.Handle{Type: backend.TypeDiskMap, Name: id.String()})
	}
	for _, t := range []backend.Type{backend.TypeConfig, backend.TypeKeys} {
		err := r.be.List(ctx, t, func(fi backend.ObjectInfo) error {
			hs = append(hs, fi.Handle)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t, err)
		}
	}
	return hs, nil
}

// ensureLocked makes every object of hs locked until at least until. It
// asks the storage only about objects whose cached date is earlier, and
// extends only those whose real date is.
//
// With missingOK an object the storage does not have is skipped (a prune
// renewing locks while a forget removes a manifest); otherwise it is an
// error.
func (r *Repository) ensureLocked(ctx context.Context, l backend.Locker, hs []backend.Handle, until time.Time, missingOK bool) (extended int, err error) {
	keys := make([]string, len(hs))
	for i, h := range hs {
		keys[i] = h.String()
	}
	cached, err := r.idx.LockedUntil(keys)
	if err != nil {
		return 0, err
	}
	var todo []backend.Handle
	for i, h := range hs {
		if t, ok := cached[keys[i]]; !ok || t.Before(until) {
			todo = append(todo, h)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	pol := l.LockPolicy()
	target := r.now().Add(pol.Period + pol.Slack).UTC().Truncate(time.Second).Add(time.Second)
	if target.Before(until) {
		target = until
	}
	var (
		mu      sync.Mutex
		missing int
		dates   = make(map[string]time.Time, len(todo))
		first   error
		wg      sync.WaitGroup
		work    = make(chan backend.Handle)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(lockWorkers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				date, ext, err := lockOne(ctx, l, h, until, target)
				mu.Lock()
				if err != nil && missingOK && errors.Is(err, backend.ErrNotFound) {
					missing++
					err = nil
					mu.Unlock()
					continue
				}
				if err != nil && first == nil {
					first = err
					cancel()
				}
				if err == nil {
					dates[h.String()] = date
					if ext {
						extended++
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, h := range todo {
		select {
		case work <- h:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if err := r.idx.SetLockedUntil(dates); err != nil && first == nil {
		first = err
	}
	if first == nil && len(dates)+missing < len(todo) {
		first = context.Cause(ctx)
		if first == nil {
			first = fmt.Errorf("%d of %d objects not locked", len(todo)-len(dates)-missing, len(todo))
		}
	}
	if missing > 0 {
		r.log.Warn("objects to lock are missing from the storage", "missing", missing)
	}
	if first != nil {
		return extended, fmt.Errorf("lock: %w", first)
	}
	return extended, nil
}

// lockOne makes h locked until at least until, extending it to target when
// it is not, and returns the date it has now.
func lockOne(ctx context.Context, l backend.Locker, h backend.Handle, until, target time.Time) (time.Time, bool, error) {
	have, err := l.LockedUntil(ctx, h)
	if err != nil {
		return time.Time{}, false, err
	}
	if !have.Before(until) {
		return have, false, nil
	}
	if err := l.ExtendLock(ctx, h, target); err != nil {
		return time.Time{}, false, err
	}
	return target, true, nil
}

// lockSnapshot locks what the manifest m of disks will need until its
// time plus the lock period, and says so in the receipt.
func (r *Repository) lockSnapshot(ctx context.Context, l backend.Locker, disks []*Disk, m *Manifest, rc *receipt.Receipt) error {
	until := m.Time.Add(l.LockPolicy().Period).UTC()
	maps := make([]*diskmap.Map, len(disks))
	ids := make([]chunk.ID, len(m.Disks))
	for i, d := range disks {
		maps[i] = d.Map
	}
	for i, md := range m.Disks {
		ids[i] = md.DiskMap
	}
	hs, err := r.lockHandles(ctx, maps, ids)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	start := time.Now()
	n, err := r.ensureLocked(ctx, l, hs, until, false)
	if err != nil {
		return err
	}
	r.log.Info("snapshot locked", "snapshot", m.ID, "until", until, "objects", len(hs), "extended", n,
		"took", time.Since(start).Round(time.Millisecond))
	rc.ImmutableUntil = until
	return nil
}
