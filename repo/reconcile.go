package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// ReconcileStats is what a reconcile of the catalogue with the backend did.
type ReconcileStats struct {
	ForgetsFinished int `json:"forgets_finished"`
	// Adopted are manifests in the backend the index did not list, whose
	// data is all indexed (a complete interrupted after storing its
	// manifest): they are listed again.
	Adopted []string `json:"adopted"`
	// Unadoptable are unlisted manifests that reference chunks the index
	// does not hold: left alone, and reported by check.
	Unadoptable []string `json:"unadoptable"`
	// Restored are index records whose manifest was missing from the
	// backend: the manifest is stored again from the record.
	Restored []string `json:"restored"`
}

// Reconcile makes the catalogue and the manifests in the backend agree,
// without ever unlisting a snapshot: it finishes interrupted forgets, lists
// again every unlisted manifest whose data is indexed, and stores again a
// listed snapshot's missing manifest from its index record. It runs when
// the repository opens, before any session, and needs no lock then.
func (r *Repository) Reconcile(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	pending, err := r.idx.PendingForgets()
	if err != nil {
		return st, err
	}
	if err := r.finishForgets(ctx); err != nil {
		return st, err
	}
	st.ForgetsFinished = len(pending)
	stored, err := r.manifestsInBackend(ctx)
	if err != nil {
		return st, err
	}
	listed := map[string][]byte{}
	err = r.idx.Snapshots(func(id string, rec []byte) error {
		listed[id] = append([]byte(nil), rec...)
		return nil
	})
	if err != nil {
		return st, err
	}
	if chunks, _, _, err := r.idx.Counts(); err != nil {
		return st, err
	} else if chunks == 0 && len(listed) == 0 && len(stored) > 0 {
		// A lost index, not a lost snapshot: nothing could be adopted.
		r.log.Warn("the index is empty but the repository holds snapshots: run `shadowvault repair index`", "manifests", len(stored))
		return st, nil
	}
	for id, fi := range stored {
		if _, ok := listed[id]; ok {
			continue
		}
		ok, err := r.adopt(ctx, fi)
		if err != nil {
			return st, fmt.Errorf("adopt snapshot %s: %w", id, err)
		}
		if ok {
			st.Adopted = append(st.Adopted, id)
			r.log.Warn("unlisted snapshot manifest listed again", "snapshot", id)
		} else {
			st.Unadoptable = append(st.Unadoptable, id)
			r.log.Error("unlisted snapshot manifest references missing chunks; left for check and repair", "snapshot", id)
		}
	}
	// Tokens and policies the backend lacks (made offline, or before the
	// backend kept them) are stored there. Not by a cluster node, which
	// mirrors the bucket: what it lacks there another node removed
	// (clustercat.go).
	if r.cl == nil {
		if _, _, err := r.syncSettings(ctx, false); err != nil {
			return st, err
		}
		if _, err := r.syncSchedules(ctx, false); err != nil {
			return st, err
		}
	}
	// So are finished jobs (their mirror failed, or was not yet written
	// when the server stopped); a failure here is only logged.
	if _, err := r.history.sync(ctx, false, nil); err != nil {
		r.log.Error("job history: store finished jobs in the backend", "err", err)
	}
	for id, rec := range listed {
		if _, ok := stored[id]; ok || r.cl != nil {
			continue
		}
		h := backend.Handle{Type: backend.TypeSnapshot, Name: id}
		if err := r.be.Put(ctx, h, bytes.NewReader(rec), int64(len(rec))); err != nil {
			return st, fmt.Errorf("store manifest %s again: %w", id, err)
		}
		st.Restored = append(st.Restored, id)
		r.log.Warn("snapshot manifest missing from the backend stored again from the index", "snapshot", id)
	}
	return st, nil
}

// manifestsInBackend lists the snapshot manifests stored in the backend.
func (r *Repository) manifestsInBackend(ctx context.Context) (map[string]backend.ObjectInfo, error) {
	out := map[string]backend.ObjectInfo{}
	err := r.be.List(ctx, backend.TypeSnapshot, func(fi backend.ObjectInfo) error {
		out[fi.Handle.Name] = fi
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list manifests: %w", err)
	}
	return out, nil
}

// adopt lists an unlisted manifest again if it is sound and every chunk its
// disk maps reference is indexed. It reports false for one that is not.
func (r *Repository) adopt(ctx context.Context, fi backend.ObjectInfo) (bool, error) {
	data, err := readObject(ctx, r.be, fi)
	if errors.Is(err, backend.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m, err := decodeManifest(data)
	if err != nil || m.ID != fi.Handle.Name {
		return false, nil
	}
	for _, d := range m.Disks {
		dm, err := r.LoadDiskMap(ctx, d.DiskMap)
		if errors.Is(err, backend.ErrNotFound) || errors.Is(err, diskmap.ErrCorrupt) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, ok, err := r.idx.FirstMissing(dm.Chunks)
		if err != nil || !ok {
			return false, err
		}
	}
	if err := r.idx.PutSnapshot(m.ID, m.Session, data); err != nil {
		return false, err
	}
	return true, nil
}

// unlistedManifests returns the manifests in the backend that the index
// neither lists nor is forgetting, leaving out those of sessions that are
// completing right now.
func (r *Repository) unlistedManifests(ctx context.Context) ([]string, error) {
	stored, err := r.manifestsInBackend(ctx)
	if err != nil {
		return nil, err
	}
	pending, err := r.idx.PendingForgets()
	if err != nil {
		return nil, err
	}
	var out []string
	for id, fi := range stored {
		if pending[id] {
			continue
		}
		if _, err := r.idx.Snapshot(id); err == nil {
			continue
		} else if !errors.Is(err, index.ErrNotFound) {
			return nil, err
		}
		if r.completing(ctx, fi) {
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

// completing tells whether a manifest belongs to a session still in
// memory: stored, and about to be committed to the index.
func (r *Repository) completing(ctx context.Context, fi backend.ObjectInfo) bool {
	data, err := readObject(ctx, r.be, fi)
	if err != nil {
		return false
	}
	m, err := decodeManifest(data)
	if err != nil {
		return false
	}
	r.mu.Lock()
	_, ok := r.sessions[m.Session]
	r.mu.Unlock()
	if ok {
		return true
	}
	_, err = r.idx.Snapshot(m.ID) // committed since the first look
	return err == nil
}

// storedManifest reads a manifest from the backend; nil if it is gone or
// not a manifest.
func (r *Repository) storedManifest(ctx context.Context, id string) (*Manifest, error) {
	h := backend.Handle{Type: backend.TypeSnapshot, Name: id}
	fi, err := r.be.Stat(ctx, h)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	data, err := readObject(ctx, r.be, fi)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := decodeManifest(data)
	if err != nil || m.ID != id {
		return nil, nil
	}
	return m, nil
}
