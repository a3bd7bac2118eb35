package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// A repository becomes a cluster's, and stays one.
//
// A node imports only the packs that have an index object, and a prune on
// any node counts a pack without one as an orphan. Two things follow:
//   - packs stored before the repository became a cluster's get their index
//     objects from the first node that indexes them (backfill), under the
//     lease so that no prune deletes them meanwhile;
//   - a server started without --node on a cluster's bucket would store
//     packs without index objects: it refuses to open.
// And a cluster prune deletes an orphan pack only when none of its chunks
// is live; a live one gets its index object (mayRemoveOrphan).

// ErrClustered is returned when a server without cluster options opens a
// repository that a cluster serves.
var ErrClustered = errors.New("the repository is served by a cluster of nodes: start with --node (docs/SCALE.md)")

// errFound ends a listing at its first object.
var errFound = errors.New("found")

// refuseClustered fails for a repository with index objects in be.
func refuseClustered(ctx context.Context, be backend.Backend) error {
	err := be.List(ctx, backend.TypeIndex, func(backend.ObjectInfo) error { return errFound })
	if errors.Is(err, errFound) {
		return fmt.Errorf("open repository: %w", ErrClustered)
	}
	if err != nil {
		return fmt.Errorf("open repository: look for index objects: %w", err)
	}
	return nil
}

// backfill publishes an index object for every pack of the index that has
// none, under the maintenance lease. It reports false when the lease is
// held elsewhere (the loop tries again).
func (c *cluster) backfill(ctx context.Context) (bool, error) {
	var missing []index.PackInfo
	err := c.r.idx.Packs(func(p index.PackInfo) error {
		name, err := c.r.idx.PackObject(p.ID)
		if err == nil && name == "" {
			missing = append(missing, p)
		}
		return err
	})
	if err != nil || len(missing) == 0 {
		return err == nil, err
	}
	jctx, release, err := c.acquire(ctx, "backfill")
	if errors.Is(err, ErrMaintenanceElsewhere) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer release()
	n := 0
	for _, p := range missing {
		entries, err := readPackTrailer(jctx, c.r.be, c.r.codec, backend.ObjectInfo{Handle: packHandle(p.ID), Size: p.Size})
		if errors.Is(err, backend.ErrNotFound) {
			continue // pruned: the gone record drops it
		}
		if err != nil {
			return false, fmt.Errorf("backfill pack %s: %w", p.ID.Short(), err)
		}
		if err := c.publish(jctx, p.ID, p.Size, entries); err != nil {
			return false, err
		}
		n++
	}
	c.r.log.Info("index objects published for packs stored before the cluster", "node", c.node, "packs", n)
	return true, nil
}

// mayRemoveOrphan reports whether a cluster prune may delete pack id, which
// its index does not hold: only when none of its chunks is live. A pack
// with live chunks (stored before the cluster by a node not started since)
// is published instead, and indexed.
func (c *cluster) mayRemoveOrphan(ctx context.Context, fi backend.ObjectInfo, id chunk.ID) (bool, error) {
	live := c.pruneLive
	if live == nil {
		return false, nil // not inside a prune: keep
	}
	entries, err := readPackTrailer(ctx, c.r.be, c.r.codec, fi)
	if errors.Is(err, backend.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if live.has(e.ID) {
			c.r.log.Warn("a pack without index object holds live chunks: published", "pack", id.Short())
			if err := c.publish(ctx, id, fi.Size, entries); err != nil {
				return false, err
			}
			return false, c.r.idx.AddPack(id, fi.Size, indexEntries(entries), c.r.now())
		}
	}
	return true, nil
}
