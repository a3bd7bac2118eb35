package repo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shadowvault/shadowvault/diskmap"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// PruneOptions tune a prune.
type PruneOptions struct {
	// RepackBelow is the share of live bytes under which a pack is
	// rewritten with its live chunks only (default 0.7).
	RepackBelow float64
	// Grace protects packs younger than this, and orphan packs seen for
	// less than this (default 1 hour).
	Grace time.Duration
}

// PruneResult reports what a prune did.
type PruneResult struct {
	PacksDeleted   int `json:"packs_deleted"`
	PacksRewritten int `json:"packs_rewritten"`
	PacksWritten   int `json:"packs_written"`
	OrphansDeleted int `json:"orphans_deleted"`
	// DiskMapsDeleted counts disk map objects no manifest references any
	// more (a forgotten snapshot's), deleted once seen so for the grace
	// window.
	DiskMapsDeleted int     `json:"disk_maps_deleted"`
	ChunksRemoved   int     `json:"chunks_removed"`
	LiveChunks      int     `json:"live_chunks"`
	BytesFreed      int64   `json:"bytes_freed"`
	Seconds         float64 `json:"seconds"`
}

// packUse is how much of a pack is still referenced.
type packUse struct {
	info      index.PackInfo
	live      int
	liveBytes int64 // stored bytes of live chunks
	total     int64 // stored bytes of every indexed chunk: no trailer, no footer
}

// Prune deletes packs no kept snapshot or running backup references,
// rewrites packs that are mostly garbage, and deletes orphan packs. It runs
// while backups run: chunks referenced by sessions in flight, and chunks a
// saver finds stored while the prune runs, are kept. The index changes in
// one transaction, before any pack is deleted, so a crash at any point
// leaves at worst packs the next prune removes.
func (r *Repository) Prune(ctx context.Context, o PruneOptions) (PruneResult, error) {
	if o.RepackBelow <= 0 {
		o.RepackBelow = 0.7
	}
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	r.maintMu.Lock()
	defer r.maintMu.Unlock()
	start := time.Now()
	now := r.now()
	var res PruneResult
	ph := phases{last: start}

	// Track before reading the sessions, and read the sessions before the
	// snapshots: a backup is then seen in flight, as a snapshot, or by its
	// saves, whatever the moment it completes.
	r.packer.startTracking()
	defer r.packer.stopTracking()
	inflight := r.inflightRefs()
	live, maps, err := r.liveChunks(ctx)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	ph.done("live")
	isLive := func(id chunk.ID) bool {
		p := prefix(id)
		if _, ok := live[p]; ok {
			return true
		}
		_, ok := inflight[p]
		return ok
	}
	uses, err := r.packUses(isLive)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	ph.done("uses")
	res.LiveChunks = len(live)
	var remove, rewrite []chunk.ID
	for id, u := range uses {
		if !u.info.Created.IsZero() && now.Sub(u.info.Created) < o.Grace {
			continue
		}
		switch {
		case u.live == 0:
			remove = append(remove, id)
		case float64(u.liveBytes) < o.RepackBelow*float64(u.total):
			rewrite = append(rewrite, id)
		}
	}
	written, err := r.repack(ctx, rewrite, isLive, now)
	if err != nil {
		return res, fmt.Errorf("prune: repack: %w", err)
	}
	res.PacksWritten = len(written)
	ph.done("repack")
	removed, dropped, err := r.commitPrune(append(remove, rewrite...), written)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	ph.done("commit")
	res.ChunksRemoved = removed
	// Only packs the committed index no longer knows are deleted, and not
	// one a backup is storing again under the same name.
	for _, id := range dropped {
		gone, err := r.packer.removeUnindexed(ctx, id)
		if err != nil {
			return res, fmt.Errorf("prune: %w", err)
		}
		if !gone {
			continue
		}
		res.BytesFreed += uses[id].info.Size
		if uses[id].live == 0 {
			res.PacksDeleted++
		} else {
			res.PacksRewritten++
		}
	}
	for _, np := range written {
		res.BytesFreed -= np.Info.Size
	}
	ph.done("delete")
	oc, err := r.collectOrphans(ctx, now, o.Grace, maps)
	if err != nil {
		return res, fmt.Errorf("prune: orphans: %w", err)
	}
	res.OrphansDeleted, res.DiskMapsDeleted, res.BytesFreed = oc.packs, oc.maps, res.BytesFreed+oc.freed
	ph.done("orphans")
	res.Seconds = time.Since(start).Seconds()
	r.log.Info("prune done", "packs_deleted", res.PacksDeleted, "packs_rewritten", res.PacksRewritten,
		"orphans_deleted", res.OrphansDeleted, "bytes_freed", res.BytesFreed, "live_chunks", res.LiveChunks,
		"took", time.Since(start).Round(time.Millisecond), slog.Group("phases", ph.took...))
	return res, nil
}

// phases times the steps of a prune, for its log line.
type phases struct {
	last time.Time
	took []any // name, duration, ...
}

// done ends the step called name.
func (p *phases) done(name string) {
	now := time.Now()
	p.took = append(p.took, name, now.Sub(p.last).Round(time.Millisecond))
	p.last = now
}

// inflightRefs returns the ID prefixes of every chunk that sessions in
// flight reference: finished disks and uploads in progress.
func (r *Repository) inflightRefs() map[uint64]struct{} {
	out := map[uint64]struct{}{}
	r.mu.Lock()
	sessions := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		sessions = append(sessions, s)
	}
	r.mu.Unlock()
	for _, s := range sessions {
		s.mu.Lock()
		for _, d := range s.disks {
			d.Map.Chunks(func(id chunk.ID) { out[prefix(id)] = struct{}{} })
		}
		for _, u := range s.uploading {
			u.mu.Lock()
			for _, p := range u.refs {
				out[p] = struct{}{}
			}
			u.mu.Unlock()
		}
		s.mu.Unlock()
	}
	return out
}

// liveChunks returns the ID prefixes of every chunk referenced by a snapshot
// in the index, or by a manifest in the backend that the index does not
// list (a rebuilt index would list it: its data stays). Prefixes keep the
// set small (8 bytes a chunk); a collision only keeps a dead chunk one
// prune longer.
func (r *Repository) liveChunks(ctx context.Context) (map[uint64]struct{}, map[chunk.ID]bool, error) {
	snaps, err := r.Snapshots(Filter{})
	if err != nil {
		return nil, nil, err
	}
	unlisted, err := r.unlistedManifests(ctx)
	if err != nil {
		return nil, nil, err
	}
	damagedOK := map[string]bool{}
	for _, id := range unlisted {
		m, err := r.storedManifest(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("unlisted manifest %s: %w", id, err)
		}
		if m != nil {
			r.log.Warn("prune keeps the data of a manifest the index does not list", "snapshot", id)
			snaps = append(snaps, m)
			damagedOK[id] = true
		}
	}
	live := map[uint64]struct{}{}
	seen := map[chunk.ID]bool{}
	for _, m := range snaps {
		for _, d := range m.Disks {
			if seen[d.DiskMap] {
				continue
			}
			seen[d.DiskMap] = true
			dm, err := r.LoadDiskMap(ctx, d.DiskMap)
			if damagedOK[m.ID] && (errors.Is(err, backend.ErrNotFound) || errors.Is(err, diskmap.ErrCorrupt)) {
				continue // an unlisted, damaged manifest: check reports it
			}
			if err != nil {
				return nil, nil, fmt.Errorf("snapshot %s disk %s: %w", m.ID, d.Name, err)
			}
			dm.Chunks(func(id chunk.ID) { live[prefix(id)] = struct{}{} })
		}
	}
	return live, seen, nil
}

// packUses counts live chunks and bytes per indexed pack.
func (r *Repository) packUses(isLive func(chunk.ID) bool) (map[chunk.ID]*packUse, error) {
	uses := map[chunk.ID]*packUse{}
	err := r.idx.Packs(func(p index.PackInfo) error {
		uses[p.ID] = &packUse{info: p}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = r.idx.ForEachChunk(func(id chunk.ID, loc index.Location) error {
		u := uses[loc.Pack]
		if u == nil {
			u = &packUse{info: index.PackInfo{ID: loc.Pack}}
			uses[loc.Pack] = u
		}
		u.total += int64(loc.Entry.Length)
		if isLive(id) {
			u.live++
			u.liveBytes += int64(loc.Entry.Length)
		}
		return nil
	})
	return uses, err
}
