package clustere2e

import (
	"context"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// TestIndexObjectsVersusTrailers measures the two ways a node can learn
// another node's packs: read each pack's index object, or read each
// pack's trailer (the last 64 KiB, what a rebuild reads). Both take one
// GET a pack; what decides is the listing (docs/SCALE.md).
func TestIndexObjectsVersusTrailers(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement")
	}
	ctx := context.Background()
	c := newCluster(t, 1, 1<<20, repo.ClusterOptions{Refresh: time.Hour})
	if _, err := c.nodes[0].backup(ctx, "vm", random(60, 24<<20)); err != nil {
		t.Fatal(err)
	}
	be := c.nodes[0].be
	read := func(ty backend.Type, tail int64) (n int, bytes int64, took time.Duration) {
		start := time.Now()
		var infos []backend.ObjectInfo
		if err := be.List(ctx, ty, func(fi backend.ObjectInfo) error { infos = append(infos, fi); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, fi := range infos {
			size := fi.Size
			if tail > 0 {
				size = min(tail, fi.Size)
			}
			buf := make([]byte, size)
			if _, err := be.ReadAt(ctx, fi.Handle, buf, fi.Size-size); err != nil {
				t.Fatal(err)
			}
			bytes += size
		}
		return len(infos), bytes, time.Since(start)
	}
	in, ib, it := read(backend.TypeIndex, 0)
	pn, pb, pt := read(backend.TypePack, 64<<10)
	t.Logf("index objects: %d read in %v (%d bytes); pack trailers: %d read in %v (%d bytes)", in, it.Round(time.Millisecond), ib, pn, pt.Round(time.Millisecond), pb)
}
