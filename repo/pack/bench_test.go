package pack_test

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// packChunks returns about 16 MiB of chunks of 64..192 KiB, random or
// text-like, with their IDs.
func packChunks(kind string) ([][]byte, []chunk.ID, int) {
	src := mrand.NewChaCha8([32]byte{9})
	r := mrand.New(src)
	var words []string
	for i := 0; i < 4096; i++ {
		w := make([]byte, 2+r.IntN(9))
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		words = append(words, string(w))
	}
	var chunks [][]byte
	var ids []chunk.ID
	total := 0
	for total < 16<<20 {
		n := 64<<10 + r.IntN(128<<10)
		c := make([]byte, 0, n)
		if kind == "random" {
			c = c[:n]
			src.Read(c)
		} else {
			b := bytes.NewBuffer(c)
			for b.Len() < n {
				b.WriteString(words[int(r.ExpFloat64()*300)%len(words)])
				b.WriteByte(' ')
				if r.IntN(12) == 0 {
					fmt.Fprintf(b, "%d\n", r.IntN(100000))
				}
			}
			c = b.Bytes()[:n]
		}
		chunks = append(chunks, c)
		ids = append(ids, chunk.Sum(c))
		total += n
	}
	return chunks, ids, total
}

// BenchmarkWriter assembles 16 MiB packs: AddCompress (zstd, or raw for
// incompressible chunks) and Finish (trailer, footer, the pack's BLAKE3).
// MB/s is of raw chunk bytes.
func BenchmarkWriter(b *testing.B) {
	for _, kind := range []string{"random", "text"} {
		chunks, ids, total := packChunks(kind)
		b.Run(kind, func(b *testing.B) {
			b.SetBytes(int64(total))
			var size int
			for i := 0; i < b.N; i++ {
				w := pack.NewWriter(total + total/8)
				for j, c := range chunks {
					w.AddCompress(ids[j], c)
				}
				data, _, err := w.Finish()
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size)/float64(total), "stored/input")
		})
	}
	// Add alone: chunks already compressed (what the packer does after the
	// ingest workers compressed them).
	chunks, ids, total := packChunks("random")
	b.Run("add-stored", func(b *testing.B) {
		b.SetBytes(int64(total))
		for i := 0; i < b.N; i++ {
			w := pack.NewWriter(total + total/8)
			for j, c := range chunks {
				w.Add(ids[j], c, len(c), chunk.Raw)
			}
			if _, _, err := w.Finish(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadTrailer parses and checks the trailer of a pack of ~180
// chunks.
func BenchmarkReadTrailer(b *testing.B) {
	chunks, ids, total := packChunks("random")
	w := pack.NewWriter(total + total/8)
	for j, c := range chunks {
		w.Add(ids[j], c, len(c), chunk.Raw)
	}
	data, _, err := w.Finish()
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(data)
	for i := 0; i < b.N; i++ {
		if _, err := pack.ReadTrailer(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
