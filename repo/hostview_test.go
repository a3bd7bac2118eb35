package repo

import (
	"context"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"runtime"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// TestHostViewClaims: of two live sessions of a host, only the first to
// meet a chunk counts it as new; once it ends, its claims go; a commit
// makes the chunks known; a forget drops the built set.
func TestHostViewClaims(t *testing.T) {
	r := &Repository{}
	hv := newHostViews(r)
	a, b := &Session{}, &Session{}
	va, vb := hv.acquire("HV01"), hv.acquire("HV01")
	if va != vb {
		t.Fatal("two views of one host")
	}
	va.known = map[uint64]struct{}{1: {}}
	if fresh, _ := va.claim(a, 1, true); fresh {
		t.Fatal("a chunk of the host's snapshots counted as new")
	}
	if fresh, _ := va.claim(a, 2, true); !fresh {
		t.Fatal("a new chunk counted as known")
	}
	if fresh, _ := vb.claim(b, 2, true); fresh {
		t.Fatal("a chunk another session of the host claimed counted as new")
	}
	if fresh, _ := hv.acquire("HV02").claim(b, 2, false); !fresh {
		t.Fatal("another host's claim counted")
	}
	hv.release(va, a)
	if fresh, _ := vb.claim(b, 2, true); !fresh {
		t.Fatal("claims of an ended session stayed")
	}
	m := &diskmap.Map{Extents: []diskmap.Extent{{Kind: diskmap.ExtentData, ID: chunk.Sum([]byte("x")), Length: 1}}}
	hv.committed("HV01", []*diskmap.Map{m})
	if fresh, _ := vb.claim(b, prefix(chunk.Sum([]byte("x"))), true); fresh {
		t.Fatal("a committed chunk counted as new")
	}
	hv.forgot()
	if _, unbuilt := vb.claim(b, 3, true); !unbuilt {
		t.Fatal("a forget kept the built set")
	}
}

// BenchmarkHostViewBuild builds the view of a host with 300 snapshots
// (the disk maps of 300k and 3M chunks in all) and reports time and heap.
func BenchmarkHostViewBuild(b *testing.B) {
	for _, n := range []int{300_000, 3_000_000} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			r, _ := synthRepo(b, n, 300)
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				start := time.Now()
				set, err := r.hostChunks(context.Background(), "HV01")
				secs := time.Since(start).Seconds()
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&m1)
				if len(set) != n/300*300 {
					b.Fatalf("set of %d chunks, want %d", len(set), n/300*300)
				}
				b.ReportMetric(secs, "build-s")
				b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20), "set-MiB")
				runtime.KeepAlive(set)
			}
		})
	}
}
