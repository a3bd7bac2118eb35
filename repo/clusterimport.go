package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Cluster records (objects of TypeCluster, JSON) tell the other nodes what
// a prune does: "doom-<stamp>-<node>" lists the packs it means to delete,
// until Until (the writer's clock); "gone-<stamp>-<node>" the packs it
// deleted or is deleting. A pack stays named by one or the other from the
// moment it is doomed: see clusterprune.go.
type clusterRecord struct {
	Node  string     `json:"node"`
	Packs []chunk.ID `json:"packs"`
	Until time.Time  `json:"until,omitzero"`
	// Since, in a gone record, is the stamp of the doom that announced
	// the packs: chunks stored again since then are in packs published
	// after it (see applyRecords).
	Since time.Time `json:"since,omitzero"`
	// Moved, in a gone record, are the live chunks of the packs and where
	// they stay: a node whose index had them in a gone pack indexes them
	// there.
	Moved []movedChunk `json:"moved,omitempty"`
}

// movedChunk is a chunk's place in the pack it stays in.
type movedChunk struct {
	ID     chunk.ID `json:"id"`
	Pack   chunk.ID `json:"pack"`
	Offset uint64   `json:"off"`
	Length uint32   `json:"len"`
	Raw    uint32   `json:"raw"`
	Comp   uint8    `json:"comp"`
}

func (m movedChunk) location() index.Location {
	return index.Location{Pack: m.Pack, Entry: index.Entry{ID: m.ID, Offset: m.Offset, Length: m.Length, RawLength: m.Raw, Compression: chunk.Compression(m.Comp)}}
}

const (
	doomPrefix = "doom-"
	gonePrefix = "gone-"
	// goneKeep is how long gone records stay: a node that was stopped
	// longer starts from an empty cache.
	goneKeep = 7 * 24 * time.Hour
)

// readRecords lists the cluster records and reads those fn wants.
func (c *cluster) readRecords(ctx context.Context, want func(name string) bool, fn func(name string, rec clusterRecord)) error {
	c.stats.lists.Add(1)
	var names []string
	err := c.r.be.List(ctx, backend.TypeCluster, func(fi backend.ObjectInfo) error {
		if want(fi.Handle.Name) {
			names = append(names, fi.Handle.Name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list cluster records: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		c.stats.gets.Add(1)
		data, err := backend.ReadAll(ctx, c.r.be, backend.Handle{Type: backend.TypeCluster, Name: name})
		if errors.Is(err, backend.ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return fmt.Errorf("read cluster record %s: %w", name, err)
		}
		var rec clusterRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			c.r.log.Warn("skipping a damaged cluster record", "record", name, "err", err)
			continue
		}
		fn(name, rec)
	}
	return nil
}

// applyRecords drops from the index the packs that gone records name,
// and makes the packer store anew the chunks of doomed packs.
func (c *cluster) applyRecords(ctx context.Context) error {
	doomed := map[chunk.ID]bool{}
	var drop []chunk.ID
	var moved []index.Location
	var names []string
	var since time.Time
	now := c.r.now()
	err := c.readRecords(ctx, func(name string) bool {
		return strings.HasPrefix(name, doomPrefix) || strings.HasPrefix(name, gonePrefix) && !c.buried(name)
	}, func(name string, rec clusterRecord) {
		if strings.HasPrefix(name, doomPrefix) {
			if now.Before(rec.Until) {
				for _, p := range rec.Packs {
					doomed[p] = true
				}
			}
			return
		}
		names = append(names, name)
		for _, m := range rec.Moved {
			moved = append(moved, m.location())
		}
		if since.IsZero() || rec.Since.Before(since) {
			since = rec.Since
		}
		for _, p := range rec.Packs {
			if !c.gone[p] {
				drop = append(drop, p)
			}
		}
	})
	if err != nil {
		return err
	}
	c.r.packer.setDoomed(doomed)
	if len(drop) == 0 {
		c.markApplied(names, nil)
		return nil
	}
	// A chunk of a doomed pack that a node stored again went to a pack
	// published after the doom, and the index kept its old place: read
	// those packs' entries, to index the chunks there once the old
	// places go.
	dropped := map[chunk.ID]bool{}
	for _, id := range drop {
		dropped[id] = true
	}
	again, objects, err := c.readSince(ctx, since, dropped)
	if err != nil {
		return err
	}
	p := c.r.packer
	p.mu.Lock() // as commitPrune: a saver's look under mu sees before or after
	n, err := c.r.idx.ApplyRewrite(index.Rewrite{Remove: drop})
	if err == nil {
		err = c.r.idx.ImportPacks(again, objects)
	}
	if err == nil {
		_, err = c.r.idx.Relocate(moved)
	}
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("drop packs another node pruned: %w", err)
	}
	c.markApplied(names, drop)
	c.r.log.Info("packs pruned by another node dropped from the index", "node", c.node, "packs", len(drop), "chunks", n)
	return nil
}

// markApplied records gone records whose packs are out of the index.
func (c *cluster) markApplied(names []string, packs []chunk.ID) {
	for _, p := range packs {
		c.gone[p] = true
	}
	c.appliedMu.Lock()
	defer c.appliedMu.Unlock()
	for _, n := range names {
		c.applied[n] = true
	}
}

// importIndex imports the index objects of packs the index does not hold:
// those named after the cursor (less a margin), or all of them.
func (c *cluster) importIndex(ctx context.Context, full bool) error {
	after := ""
	if !full && !c.cursor.IsZero() {
		after = fmt.Sprintf("%016x", uint64(c.cursor.Add(-cursorMargin).UnixNano()))
	}
	var todo []string
	newest := c.cursor
	if full {
		c.stale = nil
	}
	c.stats.lists.Add(1)
	err := backend.ListFrom(ctx, c.r.be, backend.TypeIndex, after, func(fi backend.ObjectInfo) error {
		stamp, id, err := parseIndexObjectName(fi.Handle.Name)
		if err != nil {
			return nil // not ours
		}
		if stamp.After(newest) {
			newest = stamp
		}
		if c.gone[id] {
			if full { // its removal failed: the next prune removes it
				c.stale = append(c.stale, fi.Handle.Name)
			}
			return nil
		}
		known, err := c.r.idx.HasPack(id)
		if err != nil || known {
			return err
		}
		todo = append(todo, fi.Handle.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list index objects: %w", err)
	}
	for len(todo) > 0 {
		n := min(len(todo), 256)
		if err := c.importBatch(ctx, todo[:n]); err != nil {
			return err
		}
		todo = todo[n:]
	}
	c.cursor = newest
	return nil
}

// importBatch reads index objects in parallel and adds them to the index
// in one transaction.
func (c *cluster) importBatch(ctx context.Context, names []string) error {
	var mu sync.Mutex
	var packs []index.NewPack
	var objects []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rebuildParallel)
	for _, name := range names {
		g.Go(func() error {
			o, err := c.readIndexObject(gctx, name)
			if errors.Is(err, backend.ErrNotFound) {
				return nil // pruned since the listing
			}
			if errors.Is(err, errBadIndexObject) {
				c.r.log.Warn("skipping a damaged index object", "object", name, "err", err)
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			packs = append(packs, index.NewPack{
				Info:    index.PackInfo{ID: o.pack, Size: o.size, Count: len(o.entries), Created: o.created},
				Entries: o.entries,
			})
			objects = append(objects, name)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("read index objects: %w", err)
	}
	if err := c.r.idx.ImportPacks(packs, objects); err != nil {
		return fmt.Errorf("import index objects: %w", err)
	}
	c.stats.imported.Add(int64(len(packs)))
	return nil
}

// readSince reads the entries of every index object published since t
// (less the margin), of packs neither gone nor in skip.
func (c *cluster) readSince(ctx context.Context, t time.Time, skip map[chunk.ID]bool) ([]index.NewPack, []string, error) {
	var names []string
	c.stats.lists.Add(1)
	after := fmt.Sprintf("%016x", uint64(t.Add(-cursorMargin).UnixNano()))
	err := backend.ListFrom(ctx, c.r.be, backend.TypeIndex, after, func(fi backend.ObjectInfo) error {
		if _, id, err := parseIndexObjectName(fi.Handle.Name); err == nil && !c.gone[id] && !skip[id] {
			names = append(names, fi.Handle.Name)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list index objects: %w", err)
	}
	var mu sync.Mutex
	var out []index.NewPack
	var got []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rebuildParallel)
	for _, name := range names {
		g.Go(func() error {
			o, err := c.readIndexObject(gctx, name)
			if errors.Is(err, backend.ErrNotFound) || errors.Is(err, errBadIndexObject) {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, index.NewPack{Info: index.PackInfo{ID: o.pack, Size: o.size, Count: len(o.entries), Created: o.created}, Entries: o.entries})
			got = append(got, name)
			mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	return out, got, err
}
