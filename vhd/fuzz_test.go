package vhd_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// FuzzStream feeds arbitrary bytes to NewStream and Next: no panic, and
// when parsing succeeds the Meta and Payload pieces cover the input.
func FuzzStream(f *testing.F) {
	dir := f.TempDir()
	raw := vhdtest.RandomRaw(f, dir, 2<<20, "rz")
	for _, img := range []string{vhdtest.Convert(f, raw, "vpc"), vhdtest.Convert(f, raw, "vhdx", "block_size=1M")} {
		b, err := os.ReadFile(img)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	child := filepath.Join(dir, "child.vhdx")
	vhdtest.DiffVHDX(f, child, vhdtest.Parent{Path: "p.vhdx", Raw: raw}, raw)
	b, _ := os.ReadFile(child)
	f.Add(b)
	f.Add([]byte("conectix"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := vhd.NewStream(bytes.NewReader(b), vhd.Options{SpillDir: t.TempDir(), SpillLimit: 64 << 20})
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
			n, _ := io.Copy(io.Discard, s)
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
