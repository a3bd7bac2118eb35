package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Commit stores the copied snapshot m, whose disks are maps (in the
// order of m.Disks, their chunk IDs this repository's), in the
// durability order of a backup:
//
//  1. and 2. every chunk the maps reference is in a durable, indexed
//     pack (those this import saved are waited for; every one is looked
//     up once more);
//  3. the disk maps are stored, and on a locked backend everything the
//     copy needs is locked for the target's period; then the writer
//     metadata document (doc, if m names one) and the manifest are
//     stored;
//  4. the snapshot is committed to the catalogue; then, with protect, it
//     is marked protected.
//
// m keeps the source's id, session and receipt; Commit sets each disk's
// disk map and m.Replica. A snapshot id already listed is refused with
// ErrSnapshotExists, and nothing is written.
func (im *Import) Commit(ctx context.Context, m *Manifest, maps []*diskmap.Map, doc []byte, protect bool) error {
	r := im.r
	if !ValidSnapshotID(m.ID) {
		return fmt.Errorf("import snapshot %q: not a snapshot id", m.ID)
	}
	if len(maps) != len(m.Disks) {
		return fmt.Errorf("import snapshot %s: %d disk maps for %d disks", m.ID, len(maps), len(m.Disks))
	}
	// One commit of an id at a time: two syncs of one snapshot (the same
	// source under two URLs) store it once.
	if !r.claimImport(m.ID) {
		return fmt.Errorf("import snapshot %s: being stored by another sync: %w", m.ID, ErrSnapshotExists)
	}
	defer r.releaseImport(m.ID)
	if _, err := r.idx.Snapshot(m.ID); err == nil {
		return fmt.Errorf("import snapshot %s: %w", m.ID, ErrSnapshotExists)
	} else if !errors.Is(err, index.ErrNotFound) {
		return err
	}
	// 1, 2.
	if err := im.settle(ctx); err != nil {
		return fmt.Errorf("import snapshot %s: %w", m.ID, err)
	}
	for i, dm := range maps {
		id, ok, err := r.idx.FirstMissing(dm.Chunks)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("import snapshot %s disk %s: chunk %s: %w", m.ID, m.Disks[i].Name, id.Short(), ErrMissingChunk)
		}
	}
	// 3.
	for i, dm := range maps {
		id, err := r.saveDiskMap(ctx, dm, false)
		if err != nil {
			return fmt.Errorf("import snapshot %s disk %s: %w", m.ID, m.Disks[i].Name, err)
		}
		m.Disks[i].DiskMap = id
	}
	m.Replica = &Replica{Source: im.source, Copied: r.now().UTC()}
	// On a locked backend (S3 Object Lock), every object the copy needs
	// is locked for the target's own period from the copy's commit, as a
	// backup's are, before the manifest can list it. The receipt stays
	// the source's: its immutable_until is the source's promise.
	if l := backend.LockerOf(r.be); l != nil {
		ids := make([]chunk.ID, len(m.Disks))
		for i, d := range m.Disks {
			ids[i] = d.DiskMap
		}
		hs, err := r.lockHandles(ctx, maps, ids)
		if err == nil {
			_, err = r.ensureLocked(ctx, l, hs, m.Replica.Copied.Add(l.LockPolicy().Period), false)
		}
		if err != nil {
			return fmt.Errorf("import snapshot %s: lock: %w", m.ID, err)
		}
	}
	if m.WriterMetadata != nil {
		ref, err := r.saveWriterMetadata(ctx, m.ID, doc)
		if err == nil && *ref != *m.WriterMetadata {
			err = fmt.Errorf("writer metadata: %w: does not match the source's manifest", ErrCorrupt)
		}
		if err != nil {
			r.dropManifest(ctx, m.ID)
			return fmt.Errorf("import snapshot %s: %w", m.ID, err)
		}
	}
	// A cluster node guards the copy as a backup's complete: no chunk
	// in a pack a prune on another node dooms or deleted.
	if r.cl != nil {
		disks := make([]*Disk, len(maps))
		for i, dm := range maps {
			disks[i] = &Disk{Name: m.Disks[i].Name, Map: dm}
		}
		gctx, cancel, err := r.cl.guardManifest(ctx, disks)
		if err != nil {
			r.dropManifest(ctx, m.ID)
			return fmt.Errorf("import snapshot %s: %w", m.ID, err)
		}
		defer cancel()
		ctx = gctx
	}
	data, err := r.saveManifest(ctx, m)
	if err != nil {
		r.dropManifest(ctx, m.ID)
		return fmt.Errorf("import snapshot %s: %w", m.ID, err)
	}
	// 4.
	if err := r.idx.PutSnapshot(m.ID, m.Session, data); err != nil {
		r.dropManifest(ctx, m.ID)
		return fmt.Errorf("import snapshot %s: commit: %w", m.ID, err)
	}
	r.views.committed(m.Host, maps)
	im.recordLate(true)
	if err := r.idx.PutReplicaSnapshot(im.source, m.ID, m.Replica.Copied); err != nil {
		r.log.Error("replica: copy not recorded (a sync after its forget would copy it again)", "snapshot", m.ID, "err", err)
	}
	if protect {
		if err := r.SetProtected(ctx, m.ID, true); err != nil {
			return fmt.Errorf("import snapshot %s: %w", m.ID, err)
		}
	}
	return nil
}

// settle waits until every chunk the import saved is in a durable,
// indexed pack, flushing the open pack.
func (im *Import) settle(ctx context.Context) error {
	im.mu.Lock()
	deps := append([]*pending(nil), im.deps...)
	im.mu.Unlock()
	for _, pe := range deps {
		select {
		case <-pe.added:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := im.r.packer.flush(ctx); err != nil {
		return err
	}
	for _, pe := range deps {
		if err := pe.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Settle makes what the import saved so far durable and indexed, and
// records its replica map entries (a sync calls it between disks, so
// that a crash loses little).
func (im *Import) Settle(ctx context.Context) error {
	if err := im.settle(ctx); err != nil {
		return err
	}
	im.recordLate(true)
	return nil
}

// claimImport marks snapshot id as being committed by an import, unless
// another import commits it.
func (r *Repository) claimImport(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.importing == nil {
		r.importing = map[string]bool{}
	}
	if r.importing[id] {
		return false
	}
	r.importing[id] = true
	return true
}

func (r *Repository) releaseImport(id string) {
	r.mu.Lock()
	delete(r.importing, id)
	r.mu.Unlock()
}
