package repo

import (
	"context"
	"io"
	"testing"
)

// BenchmarkWriteSegments restores a 256 MiB disk (one in 8 segments zero)
// from packs in a local directory (in the page cache) to io.Discard: the
// index lookups, the ranged reads, zstd, the BLAKE3 check of every chunk
// and the ordered output, with no HTTP. Data random (stored raw) or mixed
// (random and text), packs in disk order or interleaved with another
// disk's chunks. MB/s is of the output; reads/GiB counts the pack reads
// (GETs on S3) per GiB of output.
func BenchmarkWriteSegments(b *testing.B) {
	for _, d := range []fixtureData{randomData, mixedData} {
		for _, l := range []packLayout{inOrder, interleaved} {
			b.Run(d.String()+"/"+l.String(), func(b *testing.B) {
				f := newRestoreFixture(b, 256<<20, d, l, true, Options{})
				f.be.reads.Store(0)
				b.SetBytes(int64(len(f.want)))
				b.ResetTimer()
				for b.Loop() {
					n, err := f.r.WriteSegments(context.Background(), io.Discard, f.gen)
					if err != nil || n != int64(len(f.want)) {
						b.Fatalf("WriteSegments: %d bytes, %v", n, err)
					}
				}
				gib := float64(b.N) * float64(len(f.want)) / (1 << 30)
				b.ReportMetric(float64(f.be.reads.Load())/gib, "reads/GiB")
			})
		}
	}
}
