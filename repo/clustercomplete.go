package repo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
)

// guardManifest is a complete's side of the prune rule (clusterprune.go):
// right before the manifest is stored, it reads the doom and gone records
// of the bucket, and fails when a chunk of the disks is indexed in a pack
// they name (a prune elsewhere is deleting it), or is not indexed at all
// (a prune elsewhere deleted it). The returned context
// bounds the manifest's store to half the doom delay, so that a prune
// that announced its packs after this look lists the manifest when it
// looks again.
func (c *cluster) guardManifest(ctx context.Context, disks []*Disk) (context.Context, context.CancelFunc, error) {
	doomed := map[chunk.ID]bool{}
	err := c.readRecords(ctx, func(name string) bool {
		return strings.HasPrefix(name, doomPrefix) || strings.HasPrefix(name, gonePrefix) && !c.buried(name)
	}, func(name string, rec clusterRecord) {
		for _, p := range rec.Packs {
			doomed[p] = true
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read prune records: %w", err)
	}
	// The look runs even when no record names a pack: a gone record this
	// node applied after the complete's own look at the index (a refresh
	// in between) is buried, and its packs' chunks are indexed nowhere.
	sctx, cancel := context.WithTimeout(ctx, c.doomDelay/2)
	for _, d := range disks {
		var ids []chunk.ID
		d.Map.Chunks(func(id chunk.ID) { ids = append(ids, id) })
		var hit chunk.ID
		found := false
		err := c.r.idx.Locate(ids, func(i int, loc index.Location, ok bool) error {
			if (!ok || doomed[loc.Pack]) && !found {
				hit, found = ids[i], true
			}
			return nil
		})
		if err != nil {
			cancel()
			return nil, nil, err
		}
		if found {
			cancel()
			go c.refreshNow() // so that the retry stores the chunks anew
			return nil, nil, fmt.Errorf("disk %s: chunk %s: %w", d.Name, hit.Short(), ErrPackDoomed)
		}
	}
	return sctx, cancel, nil
}

// buried reports whether the gone record name was applied to the index
// already: its packs are out of the index, and a chunk that was only
// there is not indexed, which the guard refuses too.
func (c *cluster) buried(name string) bool {
	c.appliedMu.Lock()
	defer c.appliedMu.Unlock()
	return c.applied[name]
}

// refreshNow refreshes at once, out of turn.
func (c *cluster) refreshNow() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*c.refresh+time.Minute)
	defer cancel()
	if err := c.sync(ctx, false); err != nil {
		c.r.log.Error("cluster refresh", "node", c.node, "err", err)
	}
}
