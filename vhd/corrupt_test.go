package vhd_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// mutate copies src to a new file and lets fn change its bytes.
func mutate(t *testing.T, src string, fn func(b []byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "bad"+filepath.Ext(src))
	if err := os.WriteFile(out, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 6<<20, "rtr")
	dyn := vhdtest.Convert(t, raw, "vpc")
	fixed := vhdtest.Convert(t, raw, "vpc", "subformat=fixed", "force_size=on")
	vhdx := vhdtest.Convert(t, raw, "vhdx", "block_size=1M")
	vhdBAT := func(b []byte) int { return int(binary.BigEndian.Uint64(b[512+16:])) }
	vhdxBAT := 0 // from the region table
	b, _ := os.ReadFile(vhdx)
	for i := 0; i < 2; i++ {
		e := b[192<<10+16+32*i:]
		if binary.LittleEndian.Uint32(e) == 0x2DC27766 {
			vhdxBAT = int(binary.LittleEndian.Uint64(e[16:]))
		}
	}
	if binary.LittleEndian.Uint64(b[vhdxBAT:])&7 != 6 {
		t.Fatalf("no allocated first block in the BAT at %d", vhdxBAT)
	}
	cases := []struct {
		name string
		src  string
		fn   func(b []byte) []byte
		opts vhd.Options
		want error
	}{
		{"vhd truncated", dyn, func(b []byte) []byte { return b[:len(b)/2] }, vhd.Options{}, vhd.ErrTruncated},
		{"vhd without footer", dyn, func(b []byte) []byte { return b[:len(b)-512] }, vhd.Options{}, vhd.ErrTruncated},
		{"vhd head only", dyn, func(b []byte) []byte { return b[:1000] }, vhd.Options{}, vhd.ErrTruncated},
		{"vhdx truncated", vhdx, func(b []byte) []byte { return b[:len(b)/2] }, vhd.Options{}, vhd.ErrTruncated},
		{"vhdx head only", vhdx, func(b []byte) []byte { return b[:100<<10] }, vhd.Options{}, vhd.ErrTruncated},
		{"vhd footer checksum", dyn, func(b []byte) []byte { b[100] ^= 1; return b }, vhd.Options{}, vhd.ErrCorrupt},
		{"vhd trailing footer checksum", dyn, func(b []byte) []byte { b[len(b)-400] ^= 1; return b }, vhd.Options{}, vhd.ErrCorrupt},
		{"vhd header checksum", dyn, func(b []byte) []byte { b[512+100] ^= 1; return b }, vhd.Options{}, vhd.ErrCorrupt},
		{"fixed vhd footer checksum forced", fixed, func(b []byte) []byte { b[len(b)-400] ^= 1; return b }, vhd.Options{Format: vhd.FormatVHD}, vhd.ErrFormatMismatch},
		{"vhdx both header crcs", vhdx, func(b []byte) []byte { b[64<<10+200] ^= 1; b[128<<10+200] ^= 1; return b }, vhd.Options{}, vhd.ErrCorrupt},
		{"vhdx region crcs", vhdx, func(b []byte) []byte { b[192<<10+100] ^= 1; b[256<<10+100] ^= 1; return b }, vhd.Options{}, vhd.ErrCorrupt},
		{"vhd BAT entry outside file", dyn, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[vhdBAT(b):], 0x7FFFFF00)
			return b
		}, vhd.Options{}, vhd.ErrCorrupt},
		{"vhd BAT entry over metadata", dyn, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[vhdBAT(b):], 2)
			return b
		}, vhd.Options{}, vhd.ErrCorrupt},
		{"vhdx BAT entry outside file", vhdx, func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[vhdxBAT:], 100000<<20|6)
			return b
		}, vhd.Options{}, vhd.ErrCorrupt},
		{"vhdx BAT entry over metadata", vhdx, func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[vhdxBAT:], 2<<20|6)
			return b
		}, vhd.Options{}, vhd.ErrCorrupt},
		{"vhdx bad BAT state", vhdx, func(b []byte) []byte { b[vhdxBAT] = 5; return b }, vhd.Options{}, vhd.ErrCorrupt},
		{"vhdx forced vhd", vhdx, nil, vhd.Options{Format: vhd.FormatVHD}, vhd.ErrFormatMismatch},
		{"vhd forced vhdx", dyn, nil, vhd.Options{Format: vhd.FormatVHDX}, vhd.ErrFormatMismatch},
		{"raw forced vhd", raw, nil, vhd.Options{Format: vhd.FormatVHD}, vhd.ErrFormatMismatch},
		{"garbage with vhdx id", raw, func(b []byte) []byte { copy(b, "vhdxfile"); return b }, vhd.Options{}, vhd.ErrCorrupt},
		{"garbage with vhd cookie", raw, func(b []byte) []byte { copy(b, "conectix"); return b }, vhd.Options{}, vhd.ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.src
			if c.fn != nil {
				src = mutate(t, c.src, c.fn)
			}
			_, err := parseFile(t, src, c.opts)
			wantErr(t, err, c.want)
		})
	}
	// One broken header of two is not an error.
	p := mustParse(t, mutate(t, vhdx, func(b []byte) []byte { b[64<<10+200] ^= 1; return b }), vhd.Options{})
	sameFile(t, raw, p.raw)
}

func TestGarbageIsRaw(t *testing.T) {
	b := make([]byte, 100000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	p := filepath.Join(t.TempDir(), "garbage.bin")
	os.WriteFile(p, b, 0o644)
	r := mustParse(t, p, vhd.Options{})
	if r.info.Format != vhd.FormatRaw || r.info.VirtualSize != int64(len(b)) {
		t.Fatalf("info %+v", r.info)
	}
	_, err := parseFile(t, p, vhd.Options{Format: vhd.FormatVHDX})
	wantErr(t, err, vhd.ErrFormatMismatch)
	// Tiny and empty streams.
	for _, n := range []int{0, 1, 511, 512, 513} {
		s, err := vhd.NewStream(bytes.NewReader(b[:n]), vhd.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for {
			pc, err := s.Next()
			if err != nil {
				break
			}
			total += pc.Len
		}
		if total != int64(n) || s.Info().FileSize != int64(n) {
			t.Fatalf("%d bytes: pieces cover %d, info %+v", n, total, s.Info())
		}
	}
}

func TestFormats(t *testing.T) {
	for _, s := range []string{"raw", "vhd", "vhdx"} {
		f, err := vhd.ParseFormat(s)
		if err != nil || f.String() != s {
			t.Fatalf("ParseFormat(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := vhd.ParseFormat("qcow2"); err == nil {
		t.Fatal("ParseFormat(qcow2) succeeded")
	}
	for head, want := range map[string]vhd.Format{"vhdxfile....": vhd.FormatVHDX, "conectix": vhd.FormatVHD, "": vhd.FormatRaw, "\x00\x00": vhd.FormatRaw} {
		if got := vhd.Detect([]byte(head)); got != want {
			t.Fatalf("Detect(%q) = %v", head, got)
		}
	}
	if vhd.Fixed.String() != "fixed" || vhd.Differencing.String() != "differencing" || vhd.Zero.String() != "zero" {
		t.Fatal("String()")
	}
}
