package repo

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// repack copies the live chunks of the given packs into new packs, checking
// each chunk against its ID on the way, and stores the new packs durably.
// Nothing points at them until commitPrune. A pack's live chunks are found
// in one pass over the index, and let go once the pack is copied.
func (r *Repository) repack(ctx context.Context, packs []chunk.ID, live *liveSet, now time.Time) ([]index.NewPack, error) {
	if len(packs) == 0 {
		return nil, nil
	}
	want := make(map[chunk.ID][]pack.Entry, len(packs))
	for _, p := range packs {
		want[p] = nil
	}
	c := live.cursor()
	err := r.idx.ForEachChunk(func(id chunk.ID, loc index.Location) error {
		if _, ok := want[loc.Pack]; ok && c.has(id) {
			want[loc.Pack] = append(want[loc.Pack], pack.Entry(loc.Entry))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []index.NewPack
	salt := 0 // entries of the open pack that are its salt
	newWriter := func() *pack.Writer {
		w := r.codec.NewWriter(r.cfg.PackSize)
		salt = 0
		if r.cl != nil && saltPack(r.codec, w) { // a cluster's pack names never repeat (clusterpacker.go)
			salt = 1
		}
		return w
	}
	w := newWriter()
	flush := func() error {
		if w.Count() == salt {
			return nil
		}
		entries := indexEntries(w.Entries())
		data, name, err := w.Finish()
		if err != nil {
			return err
		}
		h := backend.Handle{Type: backend.TypePack, Name: name.String()}
		if err := r.be.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
		if r.cl != nil { // other nodes find the chunks there
			if err := r.cl.publishEntries(ctx, name, int64(len(data)), entries); err != nil {
				return err
			}
		}
		out = append(out, index.NewPack{Info: index.PackInfo{ID: name, Size: int64(len(data)), Count: len(entries), Created: now}, Entries: entries})
		w = newWriter()
		return nil
	}
	for _, p := range packs {
		h := backend.Handle{Type: backend.TypePack, Name: p.String()}
		data, err := backend.ReadAll(ctx, r.be, h)
		if err != nil {
			return nil, err
		}
		for _, e := range want[p] {
			if e.Offset+uint64(e.Length) > uint64(len(data)) {
				return nil, fmt.Errorf("pack %s: chunk %s outside the pack", p.Short(), e.ID.Short())
			}
			stored := data[e.Offset : e.Offset+uint64(e.Length)]
			if _, err := r.codec.Decode(nil, stored, e); err != nil {
				return nil, fmt.Errorf("pack %s: %w (run check)", p.Short(), err)
			}
			w.Add(e.ID, stored, int(e.RawLength), e.Compression)
			if w.Size() >= r.cfg.PackSize {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
		delete(want, p)
	}
	return out, flush()
}

// commitPrune drops the given packs from the index and moves the chunks of
// the new packs there, in one transaction, under the packer's lock so that
// no saver finds a chunk in between. A pack holding a chunk a saver came to
// depend on during the prune (and that was not copied) is kept, and so is a
// pack a rewrite reproduced byte for byte (same name). It returns the packs
// the index no longer references: only those may be deleted.
func (r *Repository) commitPrune(drop []chunk.ID, written []index.NewPack) (int, []chunk.ID, error) {
	p := r.packer
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := map[chunk.ID]bool{}
	copied := map[chunk.ID]bool{} // the tracked chunks a new pack holds
	for _, np := range written {
		kept[np.Info.ID] = true
		for _, e := range np.Entries {
			if _, ok := p.tracked[e.ID]; ok {
				copied[e.ID] = true
			}
		}
	}
	var look []chunk.ID
	for id := range p.tracked {
		if !copied[id] {
			look = append(look, id)
		}
	}
	err := r.idx.Locate(look, func(_ int, loc index.Location, ok bool) error {
		if ok {
			kept[loc.Pack] = true
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	var remove []chunk.ID
	for _, id := range drop {
		if !kept[id] {
			remove = append(remove, id)
		}
	}
	n, err := r.idx.ApplyRewrite(index.Rewrite{Remove: remove, Add: written})
	if err != nil {
		return 0, nil, err
	}
	return n, remove, nil
}
