package repo

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// orphanCount is what collectOrphans deleted.
type orphanCount struct {
	packs, maps int
	freed       int64
}

// diskMapKey names a disk map in the orphan records, apart from packs.
func diskMapKey(name string) string { return "diskmaps/" + name }

// collectOrphans deletes what nothing references, once it was first seen
// so at least grace ago, and records what it sees for the first time:
//   - packs in the backend that the index does not know (an interrupted
//     upload, a crashed prune);
//   - disk maps that no manifest references (keep holds those of every
//     listed and unlisted manifest): a forgotten snapshot's. A complete
//     stores its disk maps shortly before its manifest, so a disk map
//     younger than the grace window is never deleted.
func (r *Repository) collectOrphans(ctx context.Context, now time.Time, grace time.Duration, keep map[chunk.ID]bool) (orphanCount, error) {
	var c orphanCount
	indexed := map[string]bool{}
	if err := r.idx.Packs(func(p index.PackInfo) error { indexed[p.ID.String()] = true; return nil }); err != nil {
		return c, err
	}
	seen, err := r.idx.Orphans()
	if err != nil {
		return c, err
	}
	next := map[string]time.Time{}
	// due reports whether key has been an orphan for the grace window,
	// recording it otherwise.
	due := func(key string) bool {
		first, ok := seen[key]
		switch {
		case !ok:
			next[key] = now
		case now.Sub(first) < grace:
			next[key] = first
		default:
			return true
		}
		return false
	}
	err = r.be.List(ctx, backend.TypePack, func(fi backend.ObjectInfo) error {
		name := fi.Handle.Name
		if indexed[name] || !due(name) {
			return nil
		}
		id, err := chunk.ParseID(name)
		if err != nil {
			return nil // not a pack name: not ours to delete
		}
		if r.cl != nil { // a cluster deletes only dead orphans (clusterjoin.go)
			if ok, err := r.cl.mayRemoveOrphan(ctx, fi, id); err != nil || !ok {
				return err
			}
		}
		removed, err := r.packer.removeUnindexed(ctx, id)
		if err != nil {
			return err
		}
		if removed { // else indexed or being stored since the listing began
			c.packs++
			c.freed += fi.Size
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	if keep != nil {
		err = r.be.List(ctx, backend.TypeDiskMap, func(fi backend.ObjectInfo) error {
			id, err := chunk.ParseID(fi.Handle.Name)
			if err != nil || keep[id] || !due(diskMapKey(fi.Handle.Name)) {
				return nil
			}
			removed, err := r.maps.remove(id, now.Add(-grace), func() error {
				// The digests first: they are derived from the map.
				if err := r.be.Remove(ctx, digestsHandle(id)); err != nil && !errors.Is(err, backend.ErrNotFound) {
					return err
				}
				return r.be.Remove(ctx, fi.Handle)
			})
			if err != nil || !removed {
				return err
			}
			c.maps++
			c.freed += fi.Size
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	return c, r.idx.SetOrphans(next)
}

// mapGuard remembers the disk maps stored lately. A complete stores its
// disk maps before its manifest; a disk map of the same content as one a
// prune finds unreferenced (an unchanged disk) may be stored again at any
// moment, and must not be deleted under the manifest about to reference
// it.
type mapGuard struct {
	mu     sync.Mutex
	stored map[chunk.ID]time.Time // guarded by mu
	// held counts the commits between a disk map's store and the end of
	// their manifest's commit (hold, release): a prune that listed the
	// manifests before such a commit ended must not delete the map,
	// however long the commit took. Guarded by mu.
	held map[chunk.ID]int
}

// storing records that disk map id is being stored at t. It is called
// before the store, so that a deletion either comes before the store or
// is not done.
func (g *mapGuard) storing(id chunk.ID, t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stored == nil {
		g.stored = map[chunk.ID]time.Time{}
	}
	g.stored[id] = t
}

// hold keeps disk map id from deletion until release; it also records a
// store at t. A complete holds its maps before it stores them.
func (g *mapGuard) hold(id chunk.ID, t time.Time) {
	g.storing(id, t)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = map[chunk.ID]int{}
	}
	g.held[id]++
}

// release ends a hold at t, once the manifest that needs the map is
// committed (or will not be): a prune that began before t keeps the map.
func (g *mapGuard) release(id chunk.ID, t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held[id]--; g.held[id] <= 0 {
		delete(g.held, id)
	}
	g.stored[id] = t
}

// remove runs del for disk map id unless it is held, or was stored after
// since; it forgets stores older than since.
func (g *mapGuard) remove(id chunk.ID, since time.Time, del func() error) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, t := range g.stored {
		if t.Before(since) && g.held[k] == 0 {
			delete(g.stored, k)
		}
	}
	if _, ok := g.stored[id]; ok || g.held[id] > 0 {
		return false, nil
	}
	return true, del()
}
