package repo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/restic/chunker"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend/local"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// synthRepo builds a repository of n tiny chunks in packs, referenced by
// snaps snapshots of n/snaps chunks each, directly (no ingest).
func synthRepo(b *testing.B, n, snaps int) (*Repository, []string) {
	b.Helper()
	dir := b.TempDir()
	be, err := local.Open(filepath.Join(dir, "repo"))
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := NewConfig()
	cfg.Chunker = chunk.Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 64 << 10, AvgBits: 17, MaxSize: 1 << 20}
	ctx := context.Background()
	if err := InitConfig(ctx, be, cfg); err != nil {
		b.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(dir, "index.db"))
	if err != nil {
		b.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := Open(ctx, be, idx, Options{ReceiptKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return old.Add(48 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(ctx); idx.Close() })
	ids := make([]chunk.ID, n)
	const perPack = 1 << 15
	for start := 0; start < n; start += perPack {
		w := pack.NewWriter(perPack * 80)
		for i := start; i < min(n, start+perPack); i++ {
			var data [64]byte
			binary.LittleEndian.PutUint64(data[:], uint64(i))
			ids[i] = chunk.Sum(data[:])
			w.Add(ids[i], data[:], len(data), chunk.Raw)
		}
		entries := append([]pack.Entry(nil), w.Entries()...)
		data, name, _ := w.Finish()
		if err := be.Put(ctx, packHandle(name), bytesReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
		if err := idx.AddPack(name, int64(len(data)), indexEntries(entries), old); err != nil {
			b.Fatal(err)
		}
	}
	var snapIDs []string
	per := n / snaps
	for s := 0; s < snaps; s++ {
		m := &diskmap.Map{}
		for i := s * per; i < (s+1)*per; i++ {
			m.Extents = append(m.Extents, diskmap.Extent{Offset: m.VirtualSize, Length: 64, Kind: diskmap.ExtentData, ID: ids[i]})
			m.VirtualSize += 64
		}
		dm, err := r.saveDiskMap(ctx, m, false)
		if err != nil {
			b.Fatal(err)
		}
		man := &Manifest{Magic: ManifestMagic, Version: ManifestVersion, ID: fmt.Sprintf("snap%04d", s), Host: "HV01", VM: "VM",
			Time: old, Disks: []ManifestDisk{{Name: "d", VirtualSize: m.VirtualSize, DiskMap: dm}}}
		data, _ := json.Marshal(man)
		if err := idx.PutSnapshot(man.ID, "", data); err != nil {
			b.Fatal(err)
		}
		snapIDs = append(snapIDs, man.ID)
	}
	return r, snapIDs
}

// BenchmarkPrune prunes a repository of 100k and 1M chunks after half of
// its snapshots were forgotten, and reports time and peak heap.
func BenchmarkPrune(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r, snaps := synthRepo(b, n, 10)
				for _, s := range snaps[:5] {
					r.idx.DeleteSnapshot(s)
				}
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				peak := base.HeapAlloc
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					var ms runtime.MemStats
					for {
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
						}
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
					}
				}()
				b.StartTimer()
				start := time.Now()
				res, err := r.Prune(context.Background(), PruneOptions{})
				secs := time.Since(start).Seconds()
				b.StopTimer()
				close(stop)
				wg.Wait()
				if err != nil {
					b.Fatal(err)
				}
				if res.ChunksRemoved < n/2-n/20 {
					b.Fatalf("removed %d chunks of %d", res.ChunksRemoved, n)
				}
				b.ReportMetric(secs, "prune-s")
				b.ReportMetric(float64(peak-base.HeapAlloc)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(res.BytesFreed)/(1<<20), "freed-MiB")
			}
		})
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
