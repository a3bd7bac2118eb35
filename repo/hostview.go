package repo

import (
	"context"
	"github.com/shadowvault/shadowvault/diskmap"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
)

// What an agent may learn (DESIGN.md section 5): the new_bytes and
// stored_bytes a session reports count a chunk as known only when its host
// knows it, never because another host stored it. Storage still dedups
// globally (the packer); only the accounting is per host.
//
// A host knows a chunk when a snapshot of the host that exists references
// it (known, built lazily from the host's disk maps, extended at each
// commit, dropped at each forget), or when a live session of the host
// claimed it first (claims: the first of the host's uploads to meet a
// chunk counts it as new, every later one as known, as the packer does for
// the whole repository). Chunks are kept as ID prefixes, like Upload.refs.

// maxIdleHostViews bounds the chunk sets kept for hosts with no session
// open; the sets of hosts with a session open are always kept.
const maxIdleHostViews = 4

type hostViews struct {
	r *Repository

	mu    sync.Mutex
	hosts map[string]*hostView // guarded by mu
	tick  uint64               // guarded by mu
}

type hostView struct {
	host string
	live int    // sessions holding the view; guarded by hostViews.mu
	used uint64 // last acquire, for eviction; guarded by hostViews.mu

	mu       sync.Mutex
	known    map[uint64]struct{} // nil until built; guarded by mu
	building chan struct{}       // closed when a build in flight ends; guarded by mu
	gen      uint64              // bumped by each forget; guarded by mu
	added    []uint64            // committed while a build runs; guarded by mu
	claims   map[uint64]*Session // guarded by mu
}

func newHostViews(r *Repository) *hostViews {
	return &hostViews{r: r, hosts: make(map[string]*hostView)}
}

// acquire returns the view of host for a session, which must release it.
func (hv *hostViews) acquire(host string) *hostView {
	hv.mu.Lock()
	defer hv.mu.Unlock()
	v := hv.hosts[host]
	if v == nil {
		v = &hostView{host: host, claims: make(map[uint64]*Session)}
		hv.hosts[host] = v
	}
	v.live++
	hv.tick++
	v.used = hv.tick
	return v
}

// release drops the claims of s and its hold on v.
func (hv *hostViews) release(v *hostView, s *Session) {
	v.mu.Lock()
	for _, p := range s.claimed {
		if v.claims[p] == s {
			delete(v.claims, p)
		}
	}
	s.claimed = nil
	v.mu.Unlock()
	hv.mu.Lock()
	v.live--
	hv.evictLocked()
	hv.mu.Unlock()
}

// evictLocked drops the chunk sets of idle hosts beyond maxIdleHostViews,
// least recently used first. hv.mu is held.
func (hv *hostViews) evictLocked() {
	var idle []*hostView
	for h, v := range hv.hosts {
		if v.live > 0 {
			continue
		}
		v.mu.Lock()
		built := v.known != nil
		v.mu.Unlock()
		if !built {
			delete(hv.hosts, h)
			continue
		}
		idle = append(idle, v)
	}
	for len(idle) > maxIdleHostViews {
		oldest := 0
		for i, v := range idle {
			if v.used < idle[oldest].used {
				oldest = i
			}
		}
		delete(hv.hosts, idle[oldest].host)
		idle = append(idle[:oldest], idle[oldest+1:]...)
	}
}

// claim reports whether chunk prefix p is new to the host, and if so
// claims it for s. With built set, it does not answer (unbuilt) until the
// host's snapshots are known.
func (v *hostView) claim(s *Session, p uint64, built bool) (fresh, unbuilt bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.known == nil && built {
		return false, true
	}
	if _, ok := v.known[p]; ok {
		return false, false
	}
	if _, ok := v.claims[p]; ok {
		return false, false
	}
	v.claims[p] = s
	s.claimed = append(s.claimed, p)
	return true, false
}

// ensure builds the host's chunk set unless it is built, sharing a build
// in flight. A forget during a build makes it start again.
func (v *hostView) ensure(ctx context.Context, r *Repository) error {
	v.mu.Lock()
	for v.known == nil {
		if ch := v.building; ch != nil {
			v.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			v.mu.Lock()
			continue
		}
		ch, gen := make(chan struct{}), v.gen
		v.building, v.added = ch, nil
		v.mu.Unlock()
		set, err := r.hostChunks(ctx, v.host)
		v.mu.Lock()
		v.building = nil
		close(ch)
		if err != nil {
			v.added = nil
			v.mu.Unlock()
			return err
		}
		if v.gen == gen {
			for _, p := range v.added {
				set[p] = struct{}{}
			}
			v.known = set
		}
		v.added = nil
	}
	v.mu.Unlock()
	return nil
}

// hostChunks reads the chunk prefixes the host's snapshots reference.
func (r *Repository) hostChunks(ctx context.Context, host string) (map[uint64]struct{}, error) {
	snaps, err := r.Snapshots(Filter{Host: host})
	if err != nil {
		return nil, err
	}
	set := make(map[uint64]struct{})
	seen := make(map[chunk.ID]bool)
	for _, m := range snaps {
		for _, d := range m.Disks {
			if seen[d.DiskMap] {
				continue
			}
			seen[d.DiskMap] = true
			dm, err := r.LoadDiskMap(ctx, d.DiskMap)
			if err != nil {
				return nil, err
			}
			dm.Chunks(func(id chunk.ID) { set[prefix(id)] = struct{}{} })
		}
	}
	return set, nil
}

// committed adds the chunks of a snapshot of host just committed.
func (hv *hostViews) committed(host string, maps []*diskmap.Map) {
	hv.mu.Lock()
	v := hv.hosts[host]
	hv.mu.Unlock()
	if v == nil {
		return // not built: a build lists the snapshot
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range maps {
		m.Chunks(func(id chunk.ID) {
			switch {
			case v.known != nil:
				v.known[prefix(id)] = struct{}{}
			case v.building != nil:
				v.added = append(v.added, prefix(id))
			}
		})
	}
}

// forgot drops every host's chunk set after a snapshot was unlisted: the
// next session of a host builds it again. Claims stay.
func (hv *hostViews) forgot() {
	hv.mu.Lock()
	defer hv.mu.Unlock()
	for _, v := range hv.hosts {
		v.mu.Lock()
		v.known, v.added = nil, nil
		v.gen++
		v.mu.Unlock()
	}
}

// storedLength is the stored (compressed) size of a chunk another saver
// stored: from the index, or, while it is not indexed yet, by compressing
// it as the packer did.
func (r *Repository) storedLength(id chunk.ID, data []byte) int64 {
	if loc, ok, err := r.idx.Lookup(id); err == nil && ok {
		return int64(loc.Entry.Length)
	}
	c, _ := chunk.Compress(nil, data)
	return int64(len(c))
}
