package s3

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// heapPeak samples the heap until stop is closed and returns the highest
// value seen.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	peak := make(chan uint64, 1)
	go func() {
		var max uint64
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			max = maxOf(max, ms.HeapInuse)
			select {
			case <-stop:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	return peak
}

func maxOf(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// Many 16 MiB packs uploaded at once go up as multipart uploads read in
// place from their sources: the heap grows by far less than one pack per
// upload, and every pack reads back intact.
func TestParallelPacks(t *testing.T) {
	const (
		packs    = 12
		packSize = 16<<20 + 4321 // a pack and its trailer
		budget   = 48 << 20      // all packs together would be 192 MiB
	)
	ctx := context.Background()
	b := open(t, serverConfig(t, shared))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	stop := make(chan struct{})
	peak := heapPeak(stop)
	var inFlight, maxInFlight atomic.Int32
	g, gctx := errgroup.WithContext(ctx)
	for i := range packs {
		g.Go(func() error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
			}
			h := backend.Handle{Type: backend.TypePack, Name: fmt.Sprintf("pack%02d", i)}
			return b.Put(gctx, h, &pattern{seed: int64(i), size: packSize}, packSize)
		})
	}
	err := g.Wait()
	close(stop)
	grown := int64(<-peak) - int64(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d packs of %d bytes, up to %d at once: heap grew by %d MiB at most", packs, packSize, maxInFlight.Load(), grown>>20)
	if grown > budget {
		t.Errorf("heap grew by %d MiB uploading %d packs, budget %d MiB", grown>>20, packs, budget>>20)
	}
	for i := range packs {
		h := backend.Handle{Type: backend.TypePack, Name: fmt.Sprintf("pack%02d", i)}
		if err := checkPattern(ctx, b, h, &pattern{seed: int64(i), size: packSize}); err != nil {
			t.Fatal(err)
		}
	}
}
