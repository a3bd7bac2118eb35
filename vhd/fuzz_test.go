package vhd_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// FuzzStream feeds arbitrary bytes to NewStream and Next: no panic, and
// when parsing succeeds the Meta and Payload pieces cover the input.
func FuzzStream(f *testing.F) {
	// Go's fuzzer is slow with multi-MiB inputs: seed with small images
	// and with the heads of larger ones.
	dir := f.TempDir()
	zero := vhdtest.RandomRaw(f, dir, 64<<10, "z")
	data := vhdtest.RandomRaw(f, dir, 64<<10, "rt")
	for _, s := range []struct {
		img string
		max int
	}{
		{vhdtest.Convert(f, zero, "vpc"), 1 << 20},
		{vhdtest.Convert(f, data, "vpc"), 8 << 10},
		{vhdtest.Convert(f, data, "vpc", "subformat=fixed", "force_size=on"), 1 << 20},
		{vhdtest.Convert(f, data, "vhdx", "block_size=1M"), 320 << 10},
	} {
		b, err := os.ReadFile(s.img)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), s.max)])
	}
	f.Add([]byte("conectix"))
	f.Add([]byte("vhdxfile"))
	spill := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := vhd.NewStream(bytes.NewReader(b), vhd.Options{SpillDir: spill, SpillLimit: 64 << 20})
		if err != nil {
			return
		}
		defer s.Close()
		var covered int64
		for {
			p, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
			n, err := io.Copy(io.Discard, s)
			if err != nil {
				if _, err2 := s.Next(); err2 == nil {
					t.Fatalf("Next after a read error %v succeeded", err)
				}
				return
			}
			if p.Kind == vhd.Meta || p.Kind == vhd.Payload {
				if p.FileOff != covered || n != p.Len {
					t.Fatalf("piece %+v at %d, read %d", p, covered, n)
				}
				covered += p.Len
			}
			if p.Kind != vhd.Meta && (p.VOff < 0 || p.VOff+p.Len > s.Info().VirtualSize) && s.Info().Format != vhd.FormatRaw {
				t.Fatalf("piece %+v outside virtual size %d", p, s.Info().VirtualSize)
			}
		}
		if covered != int64(len(b)) {
			t.Fatalf("pieces cover %d of %d bytes", covered, len(b))
		}
	})
}
