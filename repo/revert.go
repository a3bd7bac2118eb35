package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// ErrNotLocked is returned by RevertLocked for a repository whose storage
// does not lock objects.
var ErrNotLocked = fmt.Errorf("the repository's storage does not lock objects (serve --object-lock)")

// RevertResult reports what RevertLocked did.
type RevertResult struct {
	// Reverted counts, by object type, the objects whose first version was
	// made current again.
	Reverted map[backend.Type]int `json:"reverted"`
	Seconds  float64              `json:"seconds"`
}

// RevertLocked undoes what someone with the bucket's credentials did to
// the objects the catalogue needs: each pack the index lists, each listed
// snapshot's manifest, disk maps and writer metadata, and the config get
// their first version back where it was hidden or replaced. Key slots
// come back only when none is left in sight, so that a slot removed on
// purpose stays removed. Objects no kept snapshot needs (pruned packs,
// forgotten manifests) are left as they are. Run check afterwards.
func (r *Repository) RevertLocked(ctx context.Context) (RevertResult, error) {
	res := RevertResult{Reverted: map[backend.Type]int{}}
	l := backend.LockerOf(r.be)
	if l == nil {
		return res, ErrNotLocked
	}
	r.maintMu.Lock()
	defer r.maintMu.Unlock()
	start := time.Now()
	want := map[backend.Type]map[string]bool{
		backend.TypeConfig: {"config": true}, backend.TypeSnapshot: {}, backend.TypeDiskMap: {},
		backend.TypeMetadata: {}, backend.TypePack: {},
	}
	snaps, err := r.Snapshots(Filter{})
	if err != nil {
		return res, err
	}
	for _, m := range snaps {
		want[backend.TypeSnapshot][m.ID] = true
		for _, d := range m.Disks {
			want[backend.TypeDiskMap][d.DiskMap.String()] = true
		}
		if m.WriterMetadata != nil {
			want[backend.TypeMetadata][metadataHandle(m.ID).Name] = true
		}
	}
	err = r.idx.Packs(func(p index.PackInfo) error {
		want[backend.TypePack][p.ID.String()] = true
		return nil
	})
	if err != nil {
		return res, err
	}
	slots := 0
	if err := r.be.List(ctx, backend.TypeKeys, func(backend.ObjectInfo) error { slots++; return nil }); err != nil {
		return res, fmt.Errorf("list key slots: %w", err)
	}
	types := []backend.Type{backend.TypeConfig, backend.TypeKeys, backend.TypeSnapshot, backend.TypeDiskMap, backend.TypeMetadata, backend.TypePack}
	for _, t := range types {
		var fn func(string) bool
		switch {
		case t == backend.TypeKeys && slots > 0:
			continue
		case t == backend.TypeKeys:
			fn = func(string) bool { return true }
		default:
			set := want[t]
			fn = func(name string) bool { return set[name] }
		}
		n, err := l.Revert(ctx, t, fn)
		res.Reverted[t] = n
		if err != nil {
			return res, fmt.Errorf("revert %s: %w", t, err)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	r.log.Info("locked objects reverted", "reverted", fmt.Sprint(res.Reverted), "took", time.Since(start).Round(time.Millisecond))
	return res, nil
}
