package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// The end of a cluster prune (clusterprune.go, step 5): the gone record,
// the index objects of the deleted packs, and the records' upkeep.

// bury tells the other nodes the packs are gone and removes their index
// objects; the prune deletes the packs after.
func (cp *clusterPrune) bury(ctx context.Context, packs []chunk.ID) error {
	if len(packs) == 0 {
		return nil
	}
	c := cp.c
	name := fmt.Sprintf("%s%016x-%s", gonePrefix, uint64(c.r.now().UnixNano()), c.node)
	// Where each live chunk of the packs stays, now that the index is
	// committed: another node may have had it in one of them.
	var want []chunk.ID
	for _, id := range packs {
		for _, e := range cp.entries[id] {
			if cp.live != nil && cp.live.has(e) {
				want = append(want, e)
			}
		}
	}
	var moved []movedChunk
	err := c.r.idx.Locate(want, func(i int, l index.Location, ok bool) error {
		if !ok {
			c.r.log.Error("prune: a live chunk of a deleted pack is not indexed", "chunk", want[i].Short())
			return nil
		}
		moved = append(moved, movedChunk{ID: l.Entry.ID, Pack: l.Pack, Offset: l.Entry.Offset, Length: l.Entry.Length, Raw: l.Entry.RawLength, Comp: uint8(l.Entry.Compression)})
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.putRecord(ctx, name, clusterRecord{Node: c.node, Packs: packs, Since: cp.since, Moved: moved}); err != nil {
		return err
	}
	c.markApplied([]string{name}, packs) // this node's index dropped them; refreshMu is held
	var objects []string
	unnamed := map[chunk.ID]bool{}
	for _, id := range packs {
		obj, err := c.r.idx.PackObject(id)
		if err != nil {
			return err
		}
		if obj == "" {
			unnamed[id] = true
			continue
		}
		objects = append(objects, obj)
	}
	if len(unnamed) > 0 { // indexed from its trailer (a rebuild): look the names up
		err := c.r.be.List(ctx, backend.TypeIndex, func(fi backend.ObjectInfo) error {
			if _, id, err := parseIndexObjectName(fi.Handle.Name); err == nil && unnamed[id] {
				objects = append(objects, fi.Handle.Name)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list index objects: %w", err)
		}
	}
	for _, obj := range objects {
		if err := c.r.be.Remove(ctx, backend.Handle{Type: backend.TypeIndex, Name: obj}); err != nil {
			return fmt.Errorf("remove index object %s: %w", obj, err)
		}
	}
	return nil
}

// end removes the doom record and old records, and gives the lease up.
func (cp *clusterPrune) end() {
	c := cp.c
	c.pruneLive = nil
	if !cp.holding {
		c.refreshMu.Lock()
	}
	stale := c.stale
	c.stale = nil
	c.refreshMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range stale { // index objects a failed prune left behind
		if err := c.r.be.Remove(ctx, backend.Handle{Type: backend.TypeIndex, Name: name}); err != nil {
			c.r.log.Warn("stale index object not removed", "object", name, "err", err)
		}
	}
	if cp.doom != "" {
		if err := c.r.be.Remove(ctx, backend.Handle{Type: backend.TypeCluster, Name: cp.doom}); err != nil {
			c.r.log.Warn("doom record not removed; it expires", "record", cp.doom, "err", err)
		}
	}
	now := c.r.now()
	err := c.readRecords(ctx, func(name string) bool {
		return strings.HasPrefix(name, doomPrefix) || strings.HasPrefix(name, gonePrefix) && recordStamp(name).Before(now.Add(-goneKeep))
	}, func(name string, rec clusterRecord) {
		if strings.HasPrefix(name, doomPrefix) && now.Before(rec.Until) {
			return
		}
		_ = c.r.be.Remove(ctx, backend.Handle{Type: backend.TypeCluster, Name: name})
	})
	if err != nil {
		c.r.log.Warn("old cluster records not removed", "err", err)
	}
	cp.release()
}

// recordStamp is the stamp of a record's name (zero if none).
func recordStamp(name string) time.Time {
	i := strings.IndexByte(name, '-')
	if i < 0 || len(name) < i+17 {
		return time.Time{}
	}
	var ns uint64
	if _, err := fmt.Sscanf(name[i+1:i+17], "%016x", &ns); err != nil {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

func (c *cluster) putRecord(ctx context.Context, name string, rec clusterRecord) error {
	data, _ := json.Marshal(rec)
	h := backend.Handle{Type: backend.TypeCluster, Name: name}
	if err := c.r.be.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("store cluster record %s: %w", name, err)
	}
	return nil
}
