package pack_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/pack"
)

func TestRoundTrip(t *testing.T) {
	w := pack.NewWriter(1 << 20)
	var chunks [][]byte
	for i := 0; i < 10; i++ {
		c := make([]byte, 1000+i*777)
		if i%2 == 0 {
			rand.Read(c)
		} else {
			copy(c, bytes.Repeat([]byte("compressible text "), 1000))
		}
		chunks = append(chunks, c)
		w.AddCompress(chunk.Sum(c), c)
	}
	data, name, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if name != chunk.Sum(data) {
		t.Fatal("pack name is not the BLAKE3 of its bytes")
	}
	entries, err := pack.ReadTrailer(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(entries) != len(chunks) {
		t.Fatalf("trailer: %d entries, %v", len(entries), err)
	}
	sawZstd, sawRaw := false, false
	for i, e := range entries {
		got, err := pack.Decode(nil, data[e.Offset:e.Offset+uint64(e.Length)], e)
		if err != nil || !bytes.Equal(got, chunks[i]) {
			t.Fatalf("chunk %d: %v", i, err)
		}
		sawZstd = sawZstd || e.Compression == chunk.Zstd
		sawRaw = sawRaw || e.Compression == chunk.Raw
	}
	if !sawZstd || !sawRaw {
		t.Fatalf("want both encodings: zstd=%v raw=%v", sawZstd, sawRaw)
	}
}

func TestCorruption(t *testing.T) {
	w := pack.NewWriter(1 << 16)
	c := bytes.Repeat([]byte("abc"), 5000)
	w.AddCompress(chunk.Sum(c), c)
	data, _, _ := w.Finish()
	for name, mutate := range map[string]func([]byte) []byte{
		"footer magic": func(p []byte) []byte { p[len(p)-pack.FooterSize] ^= 1; return p },
		"trailer byte": func(p []byte) []byte { p[len(p)-pack.FooterSize-3] ^= 1; return p },
		"truncated":    func(p []byte) []byte { return p[10:] },
		"tiny":         func(p []byte) []byte { return p[:5] },
		"entry count":  func(p []byte) []byte { p[len(p)-pack.FooterSize+8] = 0xff; return p },
	} {
		t.Run(name, func(t *testing.T) {
			p := mutate(append([]byte(nil), data...))
			if _, err := pack.ReadTrailer(bytes.NewReader(p), int64(len(p))); !errors.Is(err, pack.ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
	entries, _ := pack.ReadTrailer(bytes.NewReader(data), int64(len(data)))
	e := entries[0]
	blob := append([]byte(nil), data[e.Offset:e.Offset+uint64(e.Length)]...)
	blob[len(blob)/2] ^= 0x40
	if _, err := pack.Decode(nil, blob, e); !errors.Is(err, pack.ErrCorrupt) {
		t.Fatalf("flipped blob byte: %v, want ErrCorrupt", err)
	}
}
