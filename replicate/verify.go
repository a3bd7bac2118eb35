package replicate

import (
	"context"
	"fmt"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
)

// ErrVerify is returned when a copy, read back from the target before
// its commit, does not give the stream BLAKE3 the manifest records.
var ErrVerify = fmt.Errorf("copy does not restore to the stream the source received")

// verifier is a Target that can read a copy back before committing it
// (Options.Verify).
type verifier interface {
	Verify(ctx context.Context, m *repo.Manifest, maps []*diskmap.Map) (int, error)
}

// Verify restores the original file of each disk of m from the target's
// chunks and the rewritten maps (not yet stored) and checks its BLAKE3
// against the manifest's stream BLAKE3. A disk whose original is not the
// stream the agent sent (an incremental upload, free guest space stored
// as zeros) is not checked. It returns the disks checked.
func (l Local) Verify(ctx context.Context, m *repo.Manifest, maps []*diskmap.Map) (int, error) {
	src := mapsSource{Repository: l.R, maps: map[chunk.ID]*diskmap.Map{}}
	tmp := *m
	tmp.Disks = append([]repo.ManifestDisk(nil), m.Disks...)
	for i, dm := range maps {
		_, id := dm.Encode()
		src.maps[id] = dm
		tmp.Disks[i].DiskMap = id
	}
	n := 0
	for _, d := range tmp.Disks {
		if d.Base != "" || (d.Guest != nil && d.Guest.FreeExcluded) || d.StreamBLAKE3 == "" {
			continue
		}
		disk, err := restore.Open(ctx, src, &tmp, d.Name, restore.Original)
		if err != nil {
			return n, fmt.Errorf("verify disk %s: %w", d.Name, err)
		}
		h := blake3.New()
		if _, err := disk.WriteTo(h); err != nil {
			return n, fmt.Errorf("verify disk %s: %w", d.Name, err)
		}
		var sum chunk.ID
		h.Sum(sum[:0])
		if sum.String() != d.StreamBLAKE3 {
			return n, fmt.Errorf("disk %s: %w: BLAKE3 %s, the manifest says %s", d.Name, ErrVerify, sum, d.StreamBLAKE3)
		}
		n++
	}
	return n, nil
}

// mapsSource is the target repository with disk maps not yet stored.
type mapsSource struct {
	*repo.Repository
	maps map[chunk.ID]*diskmap.Map
}

func (s mapsSource) LoadDiskMap(ctx context.Context, id chunk.ID) (*diskmap.Map, error) {
	if m, ok := s.maps[id]; ok {
		return m, nil
	}
	return s.Repository.LoadDiskMap(ctx, id)
}
