package repo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// A prune on a cluster node deletes a pack only when no node can depend
// on it (docs/SCALE.md, "the prune rule"):
//
//  1. it holds the maintenance lease, and imports every index object and
//     manifest of the bucket first (a full listing);
//  2. among the packs older than the grace period it deletes those each
//     of whose chunks, read from the pack's own trailer (the index keeps
//     one place per chunk), is dead (no manifest in the bucket nor session
//     here references it) or indexed here in another pack, which then
//     stays or is rewritten; and it rewrites those whose live chunks
//     indexed there fill less than RepackBelow of their size;
//  3. it announces both in a doom record and waits DoomDelay: from then on
//     every node stores those chunks anew instead of deduplicating against
//     them, and a complete that depends on a doomed pack fails (the agent
//     backs up again);
//  4. it lists the manifests again; a pack to delete with a chunk one
//     stored meanwhile references and that has no other place is
//     rewritten instead, and rewrites copy those chunks too: a complete
//     checks the records and stores its manifest within DoomDelay/2, so a
//     complete that did not see the doom has its manifest listed here;
//  5. it rewrites (the new packs salted and published), commits, writes a
//     gone record (other nodes drop the packs from their index, and index
//     the live chunks where they are now), removes the packs' index
//     objects, then the packs, then the doom record.

// ErrPackDoomed fails a complete whose backup deduplicated against a pack
// a prune elsewhere is deleting.
var ErrPackDoomed = errors.New("a prune on another node deletes data this backup deduplicated against: back up again")

// clusterPrune is one prune's part in the cluster.
type clusterPrune struct {
	c       *cluster
	release func()
	scanned map[string]bool         // manifests listed when the live set was built
	doom    string                  // the doom record's name, once written
	since   time.Time               // its stamp
	entries map[chunk.ID][]chunk.ID // the chunks of doomed packs, from their trailers
	live    *liveSet                // the live set, with what became live during the delay
	holding bool                    // c.refreshMu is held (confirm to end)
}

// ErrLeaseLost stops a maintenance job whose node could not renew its
// lease: another node may hold it now.
var ErrLeaseLost = errors.New("maintenance lease lost")

// prune prunes under the lease.
func (c *cluster) prune(ctx context.Context, o PruneOptions) (PruneResult, error) {
	jctx, cp, err := c.beginPrune(ctx)
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune: %w", err)
	}
	res, err := c.r.prune(jctx, o, cp)
	cp.end()
	if err != nil && jctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", context.Cause(jctx), err) // the lease's loss, not the caller's
	}
	return res, err
}

// beginPrune takes the lease and brings the index up to the bucket.
func (c *cluster) beginPrune(ctx context.Context) (context.Context, *clusterPrune, error) {
	jctx, release, err := c.acquire(ctx, "prune")
	if err != nil {
		return nil, nil, err
	}
	cp := &clusterPrune{c: c, release: release}
	if err := c.sync(jctx, true); err != nil {
		release()
		return nil, nil, fmt.Errorf("cluster refresh before prune: %w", err)
	}
	if cp.scanned, err = c.r.listedIDs(); err != nil {
		release()
		return nil, nil, err
	}
	return jctx, cp, nil
}

// confirm narrows the packs a prune would remove to those no node can
// depend on, and chooses the packs to rewrite (steps 2 to 4). It returns
// the packs to remove, those to rewrite, and the live set grown by what
// became live meanwhile (the rewrite copies that too).
func (cp *clusterPrune) confirm(ctx context.Context, remove []chunk.ID, uses map[chunk.ID]*packUse, live *liveSet, o PruneOptions, now time.Time) ([]chunk.ID, []chunk.ID, *liveSet, error) {
	r := cp.c.r
	cp.c.pruneLive = live
	cp.entries = map[chunk.ID][]chunk.ID{}
	var removing, rewriting []chunk.ID
	for _, id := range remove {
		ids, err := cp.trailer(ctx, id, uses[id].info.Size)
		if err != nil {
			return nil, nil, nil, err
		}
		if ok, err := cp.movable(id, ids, live.has); err != nil {
			return nil, nil, nil, err
		} else if ok {
			removing = append(removing, id)
		}
	}
	// A pack whose chunks are mostly dead, or copies indexed elsewhere,
	// is rewritten: its size, not its indexed chunks, is the measure.
	for id, u := range uses {
		old := u.info.Created.IsZero() || now.Sub(u.info.Created) >= o.Grace
		if !old || u.live == 0 || u.info.Size <= 0 || float64(u.liveBytes) >= o.RepackBelow*float64(u.info.Size) {
			continue
		}
		if _, err := cp.trailer(ctx, id, u.info.Size); err != nil {
			return nil, nil, nil, err
		}
		rewriting = append(rewriting, id)
	}
	if len(removing)+len(rewriting) == 0 {
		return nil, nil, live, nil
	}
	stamp := r.now()
	cp.since = stamp
	cp.doom = fmt.Sprintf("%s%016x-%s", doomPrefix, uint64(stamp.UnixNano()), cp.c.node)
	doomed := append(append([]chunk.ID(nil), removing...), rewriting...)
	if err := cp.c.putRecord(ctx, cp.doom, clusterRecord{Node: cp.c.node, Packs: doomed, Until: stamp.Add(cp.c.doomDelay + time.Hour)}); err != nil {
		return nil, nil, nil, err
	}
	select {
	case <-time.After(cp.c.doomDelay):
	case <-ctx.Done():
		return nil, nil, nil, context.Cause(ctx)
	}
	more, err := cp.newlyLive(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	// No refresh of this node runs from here to the end of the prune: it
	// would import again the packs the commit drops, before bury removes
	// their index objects.
	cp.c.refreshMu.Lock()
	cp.holding = true
	var out []chunk.ID
	for _, id := range removing {
		ok, err := cp.movable(id, cp.entries[id], more.has)
		if err != nil {
			return nil, nil, nil, err
		}
		if ok {
			out = append(out, id)
		} else {
			rewriting = append(rewriting, id) // it holds what became live: copy it
		}
	}
	live = live.with(more)
	cp.c.pruneLive, cp.live = live, live
	return out, rewriting, live, nil
}

// trailer reads the chunk IDs of pack id from its trailer.
func (cp *clusterPrune) trailer(ctx context.Context, id chunk.ID, size int64) ([]chunk.ID, error) {
	r := cp.c.r
	es, err := readPackTrailer(ctx, r.be, r.codec, backend.ObjectInfo{Handle: packHandle(id), Size: size})
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", id.Short(), err)
	}
	ids := make([]chunk.ID, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	cp.entries[id] = ids
	return ids, nil
}

// movable reports whether pack id may go without a copy: each of its
// chunks that is live is indexed here in another pack (which therefore
// stays or is rewritten: a live chunk never has its place in a pack that
// goes).
func (cp *clusterPrune) movable(id chunk.ID, ids []chunk.ID, live func(chunk.ID) bool) (bool, error) {
	var want []chunk.ID
	for _, e := range ids {
		if live(e) {
			want = append(want, e)
		}
	}
	ok := true
	err := cp.c.r.idx.Locate(want, func(_ int, loc index.Location, found bool) error {
		if !found || loc.Pack == id {
			ok = false
		}
		return nil
	})
	return ok, err
}

// newlyLive returns the chunks of the manifests stored since the live set
// was built.
func (cp *clusterPrune) newlyLive(ctx context.Context) (*liveSet, error) {
	r := cp.c.r
	stored, err := r.manifestsInBackend(ctx)
	if err != nil {
		return nil, err
	}
	var b liveSetBuilder
	for id := range stored {
		if cp.scanned[id] {
			continue
		}
		m, err := r.storedManifest(ctx, id)
		if err != nil || m == nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		for _, d := range m.Disks {
			if err := r.scanDiskMap(ctx, d.DiskMap, b.add); err != nil {
				return nil, fmt.Errorf("snapshot %s disk %s: %w", id, d.Name, err)
			}
		}
	}
	return b.finish(), nil
}
