package restore_test

import (
	"bytes"
	"context"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
)

// countingSource counts the disk maps read from the repository.
type countingSource struct {
	*repo.Repository
	loads atomic.Int64
}

func (c *countingSource) LoadDiskMap(ctx context.Context, id chunk.ID) (*diskmap.Map, error) {
	c.loads.Add(1)
	return c.Repository.LoadDiskMap(ctx, id)
}

// TestMapCache: a cached map is read from the repository once for many
// Opens, concurrent ones included; every Open restores the same bytes; the
// budget evicts the least recently used map and a map over a quarter of
// it is never kept.
func TestMapCache(t *testing.T) {
	r := openRepo(t)
	a, b := pattern(3<<20, 1), pattern(2<<20, 2)
	m := backUp(t, r, map[string][]byte{"a.raw": a, "b.raw": b})
	src := &countingSource{Repository: r}
	ctx := context.Background()
	read := func(c restore.Source, name string) []byte {
		d, err := restore.Open(ctx, c, m, name, restore.Raw)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := d.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}

	c := restore.NewMapCache(src, 1<<20)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !bytes.Equal(read(c, "a.raw"), a) {
				t.Error("a restore through the cache differs")
			}
		}()
	}
	wg.Wait()
	first := src.loads.Load()
	for i := 0; i < 5; i++ {
		read(c, "a.raw")
	}
	if n := src.loads.Load(); n != first || first > 8 || c.Len() != 1 {
		t.Fatalf("loads: %d after the concurrent Opens, %d after 5 more; %d maps held", first, n, c.Len())
	}

	// A budget of four maps: reading six evicts the first two, not the
	// last one. Disks below the chunker's minimum are one chunk each, so
	// their maps are of one size.
	six := map[string][]byte{}
	for i := range 6 {
		six[string(rune('p'+i))+".raw"] = pattern(64<<10, byte(10+i))
	}
	m6 := backUp(t, r, six)
	var biggest int64
	for name := range six {
		dm, err := r.LoadDiskMap(ctx, mustDisk(t, m6, name).DiskMap)
		if err != nil {
			t.Fatal(err)
		}
		size := int64(len(dm.Extents))*int64(unsafe.Sizeof(diskmap.Extent{})) + int64(len(dm.Recipe))*int64(unsafe.Sizeof(diskmap.Piece{})) + 64
		biggest = max(biggest, size)
	}
	four := restore.NewMapCache(src, 4*biggest+32)
	open6 := func(name string) {
		if _, err := restore.Open(ctx, four, m6, name, restore.Raw); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"p.raw", "q.raw", "r.raw", "s.raw", "t.raw", "u.raw"} {
		open6(name)
	}
	before := src.loads.Load()
	open6("u.raw")
	if src.loads.Load() != before || four.Len() != 4 {
		t.Fatalf("the newest map was read again (%d loads) or more than four held (%d)", src.loads.Load()-before, four.Len())
	}
	open6("p.raw")
	if src.loads.Load() != before+1 {
		t.Fatalf("the oldest map was not evicted: %d loads", src.loads.Load()-before)
	}

	// Too large for the budget: read every time, still right.
	tiny := restore.NewMapCache(src, 16)
	before = src.loads.Load()
	for range 2 {
		if !bytes.Equal(read(tiny, "b.raw"), b) {
			t.Fatal("a restore through a tiny cache differs")
		}
	}
	if src.loads.Load() != before+2 || tiny.Len() != 0 {
		t.Fatalf("a map over the budget was kept: %d loads, %d held", src.loads.Load()-before, tiny.Len())
	}
}

func mustDisk(t *testing.T, m *repo.Manifest, name string) repo.ManifestDisk {
	t.Helper()
	d, ok := m.Disk(name)
	if !ok {
		t.Fatalf("no disk %s", name)
	}
	return d
}

// pattern is n bytes of seeded random data.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	mrand.NewChaCha8([32]byte{seed, 7}).Read(b)
	return b
}
