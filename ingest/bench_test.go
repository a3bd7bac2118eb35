package ingest

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// benchSaver compresses every chunk as the repository does, counts the
// stored bytes and keeps nothing: the ingest pipeline without the packer.
type benchSaver struct {
	compress bool
	stored   atomic.Int64
	pool     sync.Pool
}

func (s *benchSaver) Save(ctx context.Context, id chunk.ID, data []byte) (int, error) {
	if !s.compress {
		return len(data), nil
	}
	buf, _ := s.pool.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	out, _ := chunk.Compress((*buf)[:0], data)
	s.stored.Add(int64(len(out)))
	*buf = out
	s.pool.Put(buf)
	return len(out), nil
}

// benchData returns n bytes of incompressible or text-like data.
func benchData(kind string, n int) []byte {
	src := mrand.NewChaCha8([32]byte{7})
	r := mrand.New(src)
	d := make([]byte, n)
	switch kind {
	case "random":
		src.Read(d)
	case "text":
		words := make([]string, 4096)
		for i := range words {
			w := make([]byte, 2+r.IntN(9))
			for j := range w {
				w[j] = byte('a' + r.IntN(26))
			}
			words[i] = string(w)
		}
		var b bytes.Buffer
		for b.Len() < n {
			for k := 0; k < 12; k++ {
				b.WriteString(words[int(r.ExpFloat64()*300)%len(words)])
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d\n", r.IntN(100000))
		}
		copy(d, b.Bytes())
	}
	return d
}

// BenchmarkDisk measures ingest.Disk on a raw stream with the repository's
// default chunker parameters: cut, hash (BLAKE3) and, with compress=true,
// zstd, on GOMAXPROCS workers. MB/s is of the input stream.
func BenchmarkDisk(b *testing.B) {
	params, err := chunk.DefaultParams()
	if err != nil {
		b.Fatal(err)
	}
	const size = 128 << 20
	var data []byte
	for _, kind := range []string{"random", "text"} {
		data = nil
		for _, compress := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/compress=%v", kind, compress), func(b *testing.B) {
				if data == nil { // made once per kind, only when it runs
					data = benchData(kind, size)
					b.ResetTimer()
				}
				b.SetBytes(size)
				var s *benchSaver
				for i := 0; i < b.N; i++ {
					s = &benchSaver{compress: compress}
					if _, err := Disk(context.Background(), bytes.NewReader(data), s, Options{Params: params, Format: vhd.FormatRaw}); err != nil {
						b.Fatal(err)
					}
				}
				if compress {
					b.ReportMetric(float64(s.stored.Load())/size, "stored/input")
				}
			})
		}
	}
}

// BenchmarkDiskContainer ingests the same 128 MiB of random data as a raw
// image, a dynamic VHD and a dynamic VHDX (qemu-img), with compression:
// the difference to raw is the container parsing (read-ahead window,
// BAT, block bitmaps). MB/s is of the virtual disk.
func BenchmarkDiskContainer(b *testing.B) {
	params, err := chunk.DefaultParams()
	if err != nil {
		b.Fatal(err)
	}
	const size = 128 << 20
	dir := b.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(raw, benchData("random", size), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"raw", "vpc", "vhdx"} {
		b.Run(format, func(b *testing.B) {
			p := raw
			if format != "raw" {
				p = vhdtest.Convert(b, raw, format)
			}
			img, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Disk(context.Background(), bytes.NewReader(img), &benchSaver{compress: true}, Options{Params: params}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
