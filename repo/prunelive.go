package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// inflightRefs returns the chunks that sessions in flight reference
// (finished disks and uploads in progress) and those of imports (syncs).
func (r *Repository) inflightRefs() *liveSet {
	var b liveSetBuilder
	r.mu.Lock()
	sessions := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		sessions = append(sessions, s)
	}
	imports := make([]*Import, 0, len(r.imports))
	for im := range r.imports {
		imports = append(imports, im)
	}
	r.mu.Unlock()
	for _, im := range imports {
		im.mu.Lock()
		for _, p := range im.refs {
			b.addPrefix(p)
		}
		im.mu.Unlock()
	}
	for _, s := range sessions {
		s.mu.Lock()
		for _, d := range s.disks {
			d.Map.Chunks(b.add)
		}
		for _, u := range s.uploading {
			u.mu.Lock()
			for _, p := range u.refs {
				b.addPrefix(p)
			}
			u.mu.Unlock()
		}
		s.mu.Unlock()
	}
	return b.finish()
}

// liveChunks returns the chunks referenced by a snapshot in the index, or
// by a manifest in the backend that the index does not list (a rebuilt
// index would list it: its data stays), and the disk maps they name. It
// reads each disk map once, in pieces, never holding one whole.
func (r *Repository) liveChunks(ctx context.Context) (*liveSet, map[chunk.ID]bool, error) {
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
	var b liveSetBuilder
	seen := map[chunk.ID]bool{}
	for _, m := range snaps {
		for _, d := range m.Disks {
			if seen[d.DiskMap] {
				continue
			}
			seen[d.DiskMap] = true
			// A damaged map may have added IDs that are not its own: they
			// only keep chunks longer.
			err := r.scanDiskMap(ctx, d.DiskMap, b.add)
			if damagedOK[m.ID] && (errors.Is(err, backend.ErrNotFound) || errors.Is(err, diskmap.ErrCorrupt)) {
				continue // an unlisted, damaged manifest: check reports it
			}
			if err != nil {
				return nil, nil, fmt.Errorf("snapshot %s disk %s: %w", m.ID, d.Name, err)
			}
		}
	}
	return b.finish(), seen, nil
}
