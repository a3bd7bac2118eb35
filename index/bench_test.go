package index_test

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
)

// BenchmarkIndex looks chunks up in a bbolt index of 1M chunks
// (SHADOWVAULT_BENCH_INDEX_CHUNKS) in 1M/65536 packs: the index a
// repository of ~100 GiB of distinct 100 KiB chunks has. The index is built
// once, with the chunk IDs in sorted order so that bbolt appends.
func BenchmarkIndex(b *testing.B) {
	n := 1 << 20
	if v, err := strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_INDEX_CHUNKS")); err == nil && v > 0 {
		n = v
	}
	src := mrand.NewChaCha8([32]byte{3})
	ids := make([]chunk.ID, n)
	for i := range ids {
		src.Read(ids[i][:])
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b chunk.ID) int { return bytes.Compare(a[:], b[:]) })

	path := filepath.Join(b.TempDir(), "index.db")
	x, err := index.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	t0 := time.Now()
	const perPack = 1 << 16
	for p := 0; p*perPack < n; p++ {
		var packID chunk.ID
		packID[0], packID[1], packID[2] = 0xff, byte(p), byte(p>>8)
		part := sorted[p*perPack : min(n, (p+1)*perPack)]
		entries := make([]index.Entry, len(part))
		for i, id := range part {
			entries[i] = index.Entry{ID: id, Offset: uint64(i) * 100 << 10, Length: 60 << 10, RawLength: 100 << 10, Compression: chunk.Zstd}
		}
		if err := x.AddPack(packID, int64(len(part))*60<<10, entries, time.Unix(1700000000, 0)); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := os.Stat(path)
	b.Logf("index of %d chunks built in %s, %d MiB", n, time.Since(t0).Round(time.Millisecond), st.Size()>>20)

	misses := make([]chunk.ID, 1<<16)
	for i := range misses {
		src.Read(misses[i][:])
	}
	b.Run("Lookup/hit", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, ok, err := x.Lookup(ids[(i*7919)%n]); !ok || err != nil {
				b.Fatal("lookup miss", err)
			}
		}
	})
	b.Run("Has/hit", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if ok, err := x.Has(ids[(i*7919)%n]); !ok || err != nil {
				b.Fatal("has miss", err)
			}
		}
	})
	b.Run("Has/miss", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if ok, err := x.Has(misses[i%len(misses)]); ok || err != nil {
				b.Fatal("has hit", err)
			}
		}
	})
	b.Run("Lookup/hit/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := mrand.IntN(n)
			for pb.Next() {
				i = (i + 7919) % n
				if _, ok, err := x.Lookup(ids[i]); !ok || err != nil {
					b.Error("lookup miss", err)
					return
				}
			}
		})
	})
	// AddPack of one more pack of 200 new chunks (one 16 MiB pack of 80 KiB
	// chunks) into the full index: a pack commit's index transaction, fsync
	// included.
	b.Run(fmt.Sprintf("AddPack/200-into-%d", n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			entries := make([]index.Entry, 200)
			for j := range entries {
				src.Read(entries[j].ID[:])
				entries[j].Length, entries[j].RawLength = 60<<10, 80<<10
			}
			var packID chunk.ID
			src.Read(packID[:])
			if err := x.AddPack(packID, 16<<20, entries, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
