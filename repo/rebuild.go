package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// ErrBusy is returned by RebuildIndex while backups or maintenance are in
// flight.
var ErrBusy = errors.New("repository busy")

// rebuildParallel bounds the objects a rebuild reads at once.
const rebuildParallel = 8

// idleWait bounds how long a rebuild waits for pack uploads of finished
// sessions to drain before it gives up with ErrBusy.
const idleWait = 30 * time.Second

// RebuildStats is what a rebuild found in the backend and indexed.
type RebuildStats struct {
	Packs     int   `json:"packs"`
	Chunks    int   `json:"chunks"` // distinct chunks now indexed
	PackBytes int64 `json:"pack_bytes"`
	Snapshots int   `json:"snapshots"`
	Protected int   `json:"protected"` // snapshots marked protected
	// Tokens and Policies count what came back from the backend into an
	// index that lacked them.
	Tokens   int `json:"tokens_restored"`
	Policies int `json:"policies_restored"`
	// Jobs counts the finished jobs of the history that came back.
	Jobs    int             `json:"jobs_restored"`
	Skipped []SkippedObject `json:"skipped"` // damaged objects left out
	Took    time.Duration   `json:"-"`
	Seconds float64         `json:"seconds"` // Took, for JSON
}

// SkippedObject is a backend object a rebuild could not use, and why.
type SkippedObject struct {
	Object string `json:"object"`
	Reason string `json:"reason"`
}

// scan is what a pass over the backend found, by object name.
type scan struct {
	mu        sync.Mutex                 // guards the maps during a pass
	packs     map[string]scannedPack     // by pack name
	manifests map[string]scannedManifest // by snapshot id
	skipped   map[string]SkippedObject   // by handle
	protected map[string]bool            // snapshot ids with a protect marker
}

type scannedPack struct {
	id      chunk.ID
	size    int64
	entries []pack.Entry
}

type scannedManifest struct {
	session string
	data    []byte // the manifest as stored: the index record
}

// rebuildIndex rebuilds the index and the snapshot catalogue from the
// backend alone: every pack's trailer, every snapshot manifest and the
// protect markers. Tokens and policies survive. Damaged packs and manifests
// are left out and reported in RebuildStats.Skipped. It refuses (ErrBusy)
// while sessions are open or a prune or check runs.
//
// The backend is read first without holding anything up. Then, with new
// sessions held back, the rebuild lists the backend again for objects
// stored meanwhile, resets the index and re-adds packs, then snapshots
// (the durability order). A storage error before the reset leaves the
// index as it was. Restores that run during the short reset phase may fail.
func (r *Repository) rebuildIndex(ctx context.Context) (RebuildStats, error) {
	start := time.Now()
	// A prune rewrites packs and the index: it must not run meanwhile.
	if !r.maintMu.TryLock() {
		return RebuildStats{}, fmt.Errorf("rebuild index: a prune or check is running: %w", ErrBusy)
	}
	defer r.maintMu.Unlock()
	if n := r.openSessions(); n > 0 {
		return RebuildStats{}, fmt.Errorf("rebuild index: %d sessions open: %w", n, ErrBusy)
	}
	// Interrupted forgets are finished first, so that their manifests are
	// not read back.
	if err := r.finishForgets(ctx); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild index: %w", err)
	}
	// An open pack of an aborted session would keep the packer busy.
	if err := r.packer.flush(ctx); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild index: %w", err)
	}
	sc := &scan{
		packs: map[string]scannedPack{}, manifests: map[string]scannedManifest{},
		skipped: map[string]SkippedObject{}, protected: map[string]bool{},
	}
	if err := r.scanBackend(ctx, sc); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild index: %w", err)
	}

	// OpenSession waits for r.mu: no session starts until the end.
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.sessions); n > 0 {
		return RebuildStats{}, fmt.Errorf("rebuild index: %d sessions open: %w", n, ErrBusy)
	}
	if err := r.packer.waitIdle(ctx, idleWait); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild index: %w", err)
	}
	if err := r.scanBackend(ctx, sc); err != nil { // what was stored meanwhile
		return RebuildStats{}, fmt.Errorf("rebuild index: %w", err)
	}
	// No forget runs from here on; drop what forgets removed since the
	// first scan.
	r.catMu.Lock()
	defer r.catMu.Unlock()
	if err := r.dropRemoved(ctx, sc); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild index: %w", err)
	}
	// A cluster node does not store again what another node removed.
	if r.cl == nil {
		if err := r.keepListed(ctx, sc); err != nil {
			return RebuildStats{}, fmt.Errorf("rebuild index: %w", err)
		}
	}
	st, err := r.replaceIndex(sc)
	r.views.forgot() // the catalogue changed: hosts' views are built again
	// A cluster node's settings come from the bucket (RebuildIndex).
	if err == nil && r.cl == nil {
		st.Tokens, st.Policies, err = r.syncSettings(ctx, true)
	}
	if err == nil && r.cl == nil {
		var n int
		if n, err = r.syncSchedules(ctx, true); n > 0 {
			r.log.Info("schedules restored from the backend", "schedules", n)
		}
	}
	if err == nil {
		st.Jobs, err = r.history.sync(ctx, true, func(fi backend.ObjectInfo) ([]byte, error) { return readObject(ctx, r.be, fi) })
	}
	st.Took = time.Since(start)
	st.Seconds = st.Took.Seconds()
	if err != nil {
		return st, fmt.Errorf("rebuild index: %w", err)
	}
	r.log.Info("index rebuilt", "packs", st.Packs, "chunks", st.Chunks, "pack_bytes", st.PackBytes,
		"snapshots", st.Snapshots, "skipped", len(st.Skipped), "took", st.Took.Round(time.Millisecond))
	return st, nil
}

func (r *Repository) openSessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// waitIdle waits until no pack is open or uploading, for at most d.
func (p *packer) waitIdle(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		idle := p.cur == nil && len(p.reserved) == 0
		p.mu.Unlock()
		if idle {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pack uploads still running after %v: %w", d, ErrBusy)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// dropRemoved forgets the manifests sc found that the backend no longer
// holds (a forget finished since the scan).
func (r *Repository) dropRemoved(ctx context.Context, sc *scan) error {
	stored, err := r.manifestsInBackend(ctx)
	if err != nil {
		return err
	}
	for id := range sc.manifests {
		if _, ok := stored[id]; !ok {
			delete(sc.manifests, id)
		}
	}
	return nil
}

// keepListed stores again, from its index record, the manifest of every
// listed snapshot that the backend lost or holds damaged, and adds it to sc:
// a rebuild never unlists a snapshot.
func (r *Repository) keepListed(ctx context.Context, sc *scan) error {
	type listed struct {
		id   string
		data []byte
	}
	var lost []listed
	err := r.idx.Snapshots(func(id string, rec []byte) error {
		if _, ok := sc.manifests[id]; !ok {
			lost = append(lost, listed{id, append([]byte(nil), rec...)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, l := range lost {
		m, err := decodeManifest(l.data)
		if err != nil || m.ID != l.id {
			continue // a bad record: nothing to keep
		}
		h := backend.Handle{Type: backend.TypeSnapshot, Name: l.id}
		if err := r.be.Put(ctx, h, bytes.NewReader(l.data), int64(len(l.data))); err != nil {
			return fmt.Errorf("store manifest %s again: %w", l.id, err)
		}
		delete(sc.skipped, h.String())
		sc.manifests[l.id] = scannedManifest{session: m.Session, data: l.data}
		r.log.Warn("rebuild: manifest missing or damaged in the backend stored again from the index", "snapshot", l.id)
	}
	return nil
}

// replaceIndex makes the index what sc found, in one transaction: packs,
// then the snapshots whose forget is not pending, with their protection
// marks. A crash or an error at any point leaves the index as it was.
func (r *Repository) replaceIndex(sc *scan) (RebuildStats, error) {
	st := RebuildStats{Skipped: []SkippedObject{}}
	for _, s := range sc.skipped {
		st.Skipped = append(st.Skipped, s)
	}
	sort.Slice(st.Skipped, func(i, j int) bool { return st.Skipped[i].Object < st.Skipped[j].Object })
	forgetting, err := r.idx.PendingForgets()
	if err != nil {
		return st, err
	}
	names := make([]string, 0, len(sc.packs))
	for name := range sc.packs {
		names = append(names, name)
	}
	sort.Strings(names)
	c := index.Catalogue{Protected: map[string]bool{}}
	for _, name := range names {
		p := sc.packs[name]
		c.Packs = append(c.Packs, index.NewPack{Info: index.PackInfo{ID: p.id, Size: p.size, Count: len(p.entries), Created: r.now()}, Entries: indexEntries(p.entries)})
		st.Packs++
		st.PackBytes += p.size
	}
	for id, m := range sc.manifests {
		if forgetting[id] {
			continue // forgotten; the manifest's removal was interrupted
		}
		c.Snapshots = append(c.Snapshots, index.SnapshotRecord{ID: id, Session: m.session, Record: m.data})
		st.Snapshots++
		if sc.protected[id] {
			c.Protected[id] = true
			st.Protected++
		}
	}
	if err := r.idx.Replace(c); err != nil {
		return st, fmt.Errorf("replace index: %w", err)
	}
	chunks, _, _, err := r.idx.Counts()
	st.Chunks = chunks
	return st, err
}

// scanBackend adds to sc every pack and manifest in the backend that sc
// does not hold yet. Damaged objects are recorded as skipped; a storage
// error stops the scan.
func (r *Repository) scanBackend(ctx context.Context, sc *scan) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rebuildParallel)
	for _, t := range []backend.Type{backend.TypePack, backend.TypeSnapshot} {
		err := r.be.List(gctx, t, func(fi backend.ObjectInfo) error {
			if sc.seen(fi.Handle) {
				return nil
			}
			g.Go(func() error { return r.scanObject(gctx, sc, fi) })
			return nil
		})
		if err != nil {
			if werr := g.Wait(); werr != nil {
				return werr // the cause; the listing saw the cancellation
			}
			return fmt.Errorf("list %s: %w", t, err)
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	protected := map[string]bool{}
	err := r.be.List(ctx, backend.TypeProtect, func(fi backend.ObjectInfo) error {
		protected[fi.Handle.Name] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", backend.TypeProtect, err)
	}
	sc.protected = protected
	return nil
}

func (sc *scan) seen(h backend.Handle) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if _, ok := sc.skipped[h.String()]; ok {
		return true
	}
	if h.Type == backend.TypePack {
		_, ok := sc.packs[h.Name]
		return ok
	}
	_, ok := sc.manifests[h.Name]
	return ok
}

func (sc *scan) skip(h backend.Handle, reason string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.skipped[h.String()] = SkippedObject{Object: h.String(), Reason: reason}
}

// scanObject reads one pack trailer or one manifest into sc.
func (r *Repository) scanObject(ctx context.Context, sc *scan, fi backend.ObjectInfo) error {
	h := fi.Handle
	if h.Type == backend.TypePack {
		id, err := chunk.ParseID(h.Name)
		if err != nil {
			sc.skip(h, "not a pack name")
			return nil
		}
		entries, err := readPackTrailer(ctx, r.be, r.codec, fi)
		if errors.Is(err, backend.ErrNotFound) {
			return nil // removed since the listing (prune): nothing to index
		}
		if errors.Is(err, pack.ErrCorrupt) {
			r.log.Warn("rebuild: skipping damaged pack", "pack", h.Name, "err", err)
			sc.skip(h, err.Error())
			return nil
		}
		if err != nil {
			return err
		}
		sc.mu.Lock()
		sc.packs[h.Name] = scannedPack{id: id, size: fi.Size, entries: entries}
		sc.mu.Unlock()
		return nil
	}
	data, err := readObject(ctx, r.be, fi)
	if errors.Is(err, backend.ErrNotFound) {
		return nil // forgotten since the listing
	}
	if err != nil {
		return fmt.Errorf("read manifest %s: %w", h.Name, err)
	}
	m, err := decodeManifest(data)
	if err == nil && m.ID != h.Name {
		err = fmt.Errorf("manifest of snapshot %q stored as %q", m.ID, h.Name)
	}
	if err != nil {
		r.log.Warn("rebuild: skipping damaged manifest", "snapshot", h.Name, "err", err)
		sc.skip(h, err.Error())
		return nil
	}
	sc.mu.Lock()
	sc.manifests[h.Name] = scannedManifest{session: m.Session, data: data}
	sc.mu.Unlock()
	return nil
}
