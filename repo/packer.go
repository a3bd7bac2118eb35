package repo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// packState tracks one pack from the moment it is closed to its index commit.
type packState struct {
	done chan struct{} // closed after the upload and index commit, or failure
	err  error         // set before done is closed
	// aliases are replica map entries of chunks in the pack, committed
	// with its index entries (a sync's saves); guarded by packer.mu until
	// the pack is detached.
	aliases []index.Alias
}

// pending is a chunk reserved by one saver and not yet indexed. Savers of
// the same content wait for it instead of storing it again.
type pending struct {
	added chan struct{} // closed once the chunk is in a pack (or failed)
	pack  *packState    // set before added is closed; nil on failure
	err   error
}

// wait blocks until the chunk's pack is durable and indexed.
func (p *pending) wait(ctx context.Context) error {
	select {
	case <-p.added:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.err != nil {
		return p.err
	}
	select {
	case <-p.pack.done:
		return p.pack.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// packer is the repository-wide pack assembler shared by every session:
// check-and-reserve dedup, one open pack, and bounded parallel uploads.
type packer struct {
	be     backend.Backend
	codec  pack.Codec
	idx    *index.Index
	target int
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	reserved map[chunk.ID]*pending // guarded by mu
	cur      *pack.Writer          // guarded by mu
	curState *packState            // guarded by mu
	curIDs   []*pending            // guarded by mu
	// tracked records every chunk a saver finds already stored or starts
	// to store while a prune runs (nil otherwise), so that the prune keeps
	// what a running backup has just come to depend on. Guarded by mu.
	tracked  map[chunk.ID]struct{}
	tracking atomic.Bool // tracked != nil, readable without mu
	// storing counts the packs between their upload and their index
	// commit, by name: a prune must not delete them (removeUnindexed).
	// Guarded by mu.
	storing map[chunk.ID]int
	// removing holds the packs a prune is deleting, by name; an upload of
	// the same name waits for the channel to close. Guarded by mu.
	removing map[chunk.ID]chan struct{}
	// doomed holds the packs a prune on another node means to delete: a
	// chunk found only there is stored again (clusterpacker.go). Nil for a
	// single node.
	doomed atomic.Pointer[map[chunk.ID]bool]
	// publish, set on a cluster node, stores a pack's index object
	// between the pack's upload and its index commit.
	publish func(ctx context.Context, id chunk.ID, size int64, entries []pack.Entry) error
	// salt starts every pack with a chunk of random bytes, so that no two
	// packs of a cluster share a name (clusterpacker.go).
	salt bool

	slots   chan struct{} // upload concurrency
	uploads sync.WaitGroup
	scratch sync.Pool
	// spillDir, if set, holds the packs being filled and uploaded
	// (spill.go); spills maps each file-backed writer to its file.
	spillDir string
	spills   map[*pack.Writer]*spillFile // guarded by mu
}

func newPacker(be backend.Backend, codec pack.Codec, idx *index.Index, target, parallel int, log *slog.Logger, now func() time.Time, spillDir string) *packer {
	return &packer{
		be: be, codec: codec, idx: idx, target: target, log: log, now: now,
		spillDir: spillDir, spills: make(map[*pack.Writer]*spillFile),
		reserved: make(map[chunk.ID]*pending), storing: make(map[chunk.ID]int),
		removing: make(map[chunk.ID]chan struct{}),
		slots:    make(chan struct{}, parallel),
	}
}

// save stores data under id unless the repository has it or another saver
// is storing it. It returns the stored (compressed) size when this call
// stored the chunk, and the pending entry the caller must wait for before
// committing anything that references the chunk (nil when already indexed).
func (p *packer) save(ctx context.Context, id chunk.ID, data []byte) (int, *pending, error) {
	return p.saveAs(ctx, id, data, nil)
}

// saveAs is save; when this call stores the chunk (n > 0), alias, if not
// nil, is committed with the pack's index entries. Otherwise the caller
// records it once the chunk is indexed.
func (p *packer) saveAs(ctx context.Context, id chunk.ID, data []byte, alias *index.Alias) (int, *pending, error) {
	if !p.tracking.Load() {
		if ok, err := p.has(id); err != nil || ok {
			return 0, nil, err
		}
	}
	p.mu.Lock()
	if p.tracked != nil {
		p.tracked[id] = struct{}{}
	}
	if pe := p.reserved[id]; pe != nil {
		p.mu.Unlock()
		return 0, pe, nil
	}
	// Entries are committed to the index before they leave reserved, so a
	// look under the lock cannot miss a chunk in between; and a prune
	// commits under the lock, so a chunk found here stays.
	if ok, err := p.has(id); err != nil || ok {
		p.mu.Unlock()
		return 0, nil, err
	}
	pe := &pending{added: make(chan struct{})}
	p.reserved[id] = pe
	p.mu.Unlock()

	bufp, _ := p.scratch.Get().(*[]byte)
	if bufp == nil {
		bufp = new([]byte)
	}
	tmpp, _ := p.scratch.Get().(*[]byte)
	if tmpp == nil {
		tmpp = new([]byte)
	}
	stored, tmp, c, err := p.codec.Encode((*bufp)[:0], (*tmpp)[:0], id, data)
	*tmpp = tmp
	p.scratch.Put(tmpp)
	if err != nil {
		err = fmt.Errorf("store chunk %s: %w", id.Short(), err)
		p.mu.Lock()
		delete(p.reserved, id)
		p.mu.Unlock()
		pe.err = err
		close(pe.added)
		return 0, nil, err
	}

	p.mu.Lock()
	if p.cur == nil {
		p.cur = p.newWriterLocked()
		p.curState = &packState{done: make(chan struct{})}
		if p.salt {
			p.addSaltLocked()
		}
	}
	p.cur.Add(id, stored, len(data), c)
	p.curIDs = append(p.curIDs, pe)
	if alias != nil {
		p.curState.aliases = append(p.curState.aliases, *alias)
	}
	pe.pack = p.curState
	close(pe.added)
	n := len(stored)
	var full *pack.Writer
	var state *packState
	var ids []*pending
	if p.cur.Size() >= p.target {
		full, state, ids = p.detachLocked()
	}
	p.mu.Unlock()
	*bufp = stored
	p.scratch.Put(bufp)

	if full != nil {
		if err := p.upload(ctx, full, state, ids); err != nil {
			return n, pe, err
		}
	}
	return n, pe, nil
}

// newWriterLocked starts a pack: in a spill file when the packer has a
// spill directory and the file can be made, else in memory. p.mu is held.
func (p *packer) newWriterLocked() *pack.Writer {
	if p.spillDir != "" {
		sf, err := newSpillFile(p.spillDir)
		if err == nil {
			w := p.codec.NewFileWriter(sf.f)
			p.spills[w] = sf
			return w
		}
		p.log.Warn("pack kept in memory", "err", err)
	}
	return p.codec.NewWriter(p.target)
}

func (p *packer) detachLocked() (*pack.Writer, *packState, []*pending) {
	w, s, ids := p.cur, p.curState, p.curIDs
	p.cur, p.curState, p.curIDs = nil, nil, nil
	return w, s, ids
}

// flush closes the open pack, if any, and starts its upload.
func (p *packer) flush(ctx context.Context) error {
	p.mu.Lock()
	if p.cur == nil {
		p.mu.Unlock()
		return nil
	}
	w, s, ids := p.detachLocked()
	p.mu.Unlock()
	return p.upload(ctx, w, s, ids)
}

// upload waits for an upload slot (backpressure on ingest), then writes the
// pack and commits its index entries in the background.
func (p *packer) upload(ctx context.Context, w *pack.Writer, s *packState, ids []*pending) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		// The pack holds chunks other sessions may wait for: upload it anyway.
		p.slots <- struct{}{}
	}
	p.uploads.Add(1)
	go func() {
		defer p.uploads.Done()
		release := sync.OnceFunc(func() { <-p.slots })
		defer release()
		err := p.write(w, s.aliases, release)
		p.mu.Lock()
		for i, pe := range ids {
			if p.reserved[w.Entries()[i].ID] == pe {
				delete(p.reserved, w.Entries()[i].ID)
			}
		}
		s.err = err
		close(s.done)
		p.mu.Unlock()
	}()
	return nil
}

// write makes the pack durable, then indexes it: durability order steps 1, 2.
// release frees the upload slot: a cluster node calls it once the pack is
// stored, before it publishes the pack's small index object.
func (p *packer) write(w *pack.Writer, aliases []index.Alias, release func()) error {
	start := time.Now()
	entries := append([]pack.Entry(nil), w.Entries()...)
	var body io.ReadSeeker
	var size int64
	var name chunk.ID
	if w.File() != nil {
		p.mu.Lock()
		sf := p.spills[w]
		delete(p.spills, w)
		p.mu.Unlock()
		defer sf.close()
		var err error
		if size, name, err = w.FinishFile(); err != nil {
			return err
		}
		body = sf.f
	} else {
		data, id, err := w.Finish()
		if err != nil {
			return err
		}
		body, size, name = bytes.NewReader(data), int64(len(data)), id
	}
	p.mu.Lock()
	for ch := p.removing[name]; ch != nil; ch = p.removing[name] {
		p.mu.Unlock()
		<-ch // a pack of this name is being deleted: store it after that
		p.mu.Lock()
	}
	p.storing[name]++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if p.storing[name]--; p.storing[name] <= 0 {
			delete(p.storing, name)
		}
		p.mu.Unlock()
	}()
	h := backend.Handle{Type: backend.TypePack, Name: name.String()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := p.be.Put(ctx, h, body, size); err != nil {
		p.log.Error("pack upload failed", "pack", name.Short(), "err", err)
		return fmt.Errorf("store pack: %w", err)
	}
	if p.publish != nil {
		release() // a small object: the next pack's upload need not wait for it
		if err := p.publish(ctx, name, size, entries); err != nil {
			p.log.Error("pack index object failed", "pack", name.Short(), "err", err)
			return err
		}
	}
	if err := p.idx.AddPackAliased(name, size, indexEntries(entries), aliases, p.now()); err != nil {
		p.log.Error("pack index commit failed", "pack", name.Short(), "err", err)
		return fmt.Errorf("index pack: %w", err)
	}
	p.log.Debug("pack stored", "pack", name.Short(), "chunks", len(entries), "bytes", size, "took", time.Since(start))
	return nil
}

// removeUnindexed deletes a pack the index does not know, unless it is
// being stored right now. Pack names are the hash of their bytes, so a
// backup can store a pack of the very name a prune or an orphan collection
// is about to delete (the same chunks again, in the same order: with small
// packs, often one chunk). A pack counts as being stored from before its
// upload to its index commit, and the look happens under mu: then either
// the upload is under way and the pack stays, or the pack is marked as
// being removed and an upload of that name waits until the removal is done
// and then stores it again.
func (p *packer) removeUnindexed(ctx context.Context, id chunk.ID) (bool, error) {
	p.mu.Lock()
	if p.storing[id] > 0 {
		p.mu.Unlock()
		return false, nil
	}
	if known, err := p.idx.HasPack(id); err != nil || known {
		p.mu.Unlock()
		return false, err
	}
	done := make(chan struct{})
	p.removing[id] = done
	p.mu.Unlock()
	err := p.be.Remove(ctx, backend.Handle{Type: backend.TypePack, Name: id.String()})
	p.mu.Lock()
	delete(p.removing, id)
	close(done)
	p.mu.Unlock()
	return err == nil, err
}

// close flushes the open pack and waits for every upload.
func (p *packer) close(ctx context.Context) error {
	err := p.flush(ctx)
	p.uploads.Wait()
	return err
}

// startTracking begins recording the chunks savers depend on.
func (p *packer) startTracking() {
	p.mu.Lock()
	p.tracked = make(map[chunk.ID]struct{})
	p.tracking.Store(true)
	p.mu.Unlock()
}

// stopTracking ends the recording.
func (p *packer) stopTracking() {
	p.mu.Lock()
	p.tracked = nil
	p.tracking.Store(false)
	p.mu.Unlock()
}
