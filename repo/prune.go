package repo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

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
	// Under S3 Object Lock a removed object is hidden at once and its
	// bytes stay until its retention passes; every prune then deletes
	// what has become free. BytesPurged is what this prune deleted of
	// objects removed before (and now), BytesLocked what still waits,
	// until LockedUntil at the earliest.
	BytesPurged int64 `json:"bytes_purged,omitempty"`
	// LocksExtended counts the objects of kept snapshots whose lock this
	// prune extended to its time plus the lock period.
	LocksExtended int       `json:"locks_extended,omitempty"`
	BytesLocked   int64     `json:"bytes_locked,omitempty"`
	LockedUntil   time.Time `json:"locked_until,omitzero"`
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
// saver finds stored while the prune runs, are kept. The index changes
// (in transactions that each leave it sound) before any pack is deleted,
// so a crash at any point leaves at worst packs the next prune removes.
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
	res.LiveChunks = live.len()
	live = live.with(inflight)
	ph.done("live")
	uses, err := r.packUses(live)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	ph.done("uses")
	if l := backend.LockerOf(r.be); l != nil {
		if res.LocksExtended, err = r.renewLocks(ctx, l, uses, maps, now); err != nil {
			return res, fmt.Errorf("prune: %w", err)
		}
		ph.done("locks")
	}
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
	written, err := r.repack(ctx, rewrite, live, now)
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
	if l := backend.LockerOf(r.be); l != nil {
		if err := r.purge(ctx, l, &res); err != nil {
			return res, fmt.Errorf("prune: %w", err)
		}
		ph.done("purge")
	}
	res.Seconds = time.Since(start).Seconds()
	r.log.Info("prune done", "packs_deleted", res.PacksDeleted, "packs_rewritten", res.PacksRewritten,
		"orphans_deleted", res.OrphansDeleted, "bytes_freed", res.BytesFreed, "live_chunks", res.LiveChunks,
		"bytes_purged", res.BytesPurged, "bytes_locked", res.BytesLocked,
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

// packUses counts live chunks and bytes per indexed pack, in one pass
// over the index in key order, walking the live set alongside.
func (r *Repository) packUses(live *liveSet) (map[chunk.ID]*packUse, error) {
	uses := map[chunk.ID]*packUse{}
	err := r.idx.Packs(func(p index.PackInfo) error {
		uses[p.ID] = &packUse{info: p}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c := live.cursor()
	err = r.idx.ForEachChunk(func(id chunk.ID, loc index.Location) error {
		u := uses[loc.Pack]
		if u == nil {
			u = &packUse{info: index.PackInfo{ID: loc.Pack}}
			uses[loc.Pack] = u
		}
		u.total += int64(loc.Entry.Length)
		if c.has(id) {
			u.live++
			u.liveBytes += int64(loc.Entry.Length)
		}
		return nil
	})
	return uses, err
}
