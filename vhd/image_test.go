package vhd_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestOpenImage maps qemu-made containers and reads them at random offsets:
// the virtual content must equal the raw source.
func TestOpenImage(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 9<<20+4096, "rzt")
	want, _ := os.ReadFile(raw)
	for _, c := range []struct {
		format string
		opts   []string
	}{{"raw", nil}, {"vpc", nil}, {"vpc", []string{"subformat=fixed", "force_size=on"}}, {"vhdx", []string{"block_size=1M"}}} {
		path := raw
		if c.format != "raw" {
			path = vhdtest.Convert(t, raw, c.format, c.opts...)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := vhd.OpenImage(f)
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		// Without force_size qemu rounds a VHD up to its CHS geometry.
		if img.Size() < int64(len(want)) || img.Size() > int64(len(want))+1<<20 {
			t.Fatalf("%s: size %d, want about %d", c.format, img.Size(), len(want))
		}
		if tail := make([]byte, img.Size()-int64(len(want))); len(tail) > 0 {
			if _, err := img.ReadAt(tail, int64(len(want))); err != nil || !bytes.Equal(tail, make([]byte, len(tail))) {
				t.Fatalf("%s: the rounded-up tail is not zeros (%v)", c.format, err)
			}
		}
		for _, off := range []int64{0, 511, 1 << 20, 3<<20 - 7, 9 << 20} {
			n := min(100000, int64(len(want))-off)
			got := make([]byte, n)
			if _, err := img.ReadAt(got, off); err != nil {
				t.Fatalf("%s: read at %d: %v", c.format, off, err)
			}
			if !bytes.Equal(got, want[off:off+n]) {
				t.Fatalf("%s: content at %d differs", c.format, off)
			}
		}
		f.Close()
	}
}
