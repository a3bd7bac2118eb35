package vhd_test

import (
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

func TestQemuImages(t *testing.T) {
	dir := t.TempDir()
	const odd = 13*1<<20 + 7*512 // not a multiple of any block size
	raws := map[string]string{
		"mixed": vhdtest.RandomRaw(t, dir, odd, "rtzzrt"),
		"empty": vhdtest.RandomRaw(t, dir, 16<<20, "z"),
		"ntfs": vhdtest.NTFSDisk(t, dir, 24, map[string][]byte{
			"hello.txt": []byte("hello from shadowvault\n"),
			"big.bin":   make([]byte, 3<<20),
		}),
	}
	variants := []struct {
		format string
		opts   []string
		want   vhd.Format
		typ    vhd.DiskType
	}{
		{"vpc", nil, vhd.FormatVHD, vhd.Dynamic},
		{"vpc", []string{"force_size=on"}, vhd.FormatVHD, vhd.Dynamic},
		{"vpc", []string{"subformat=fixed"}, vhd.FormatVHD, vhd.Fixed},
		{"vpc", []string{"subformat=fixed", "force_size=on"}, vhd.FormatVHD, vhd.Fixed},
		{"vhdx", []string{"block_size=1M"}, vhd.FormatVHDX, vhd.Dynamic},
		{"vhdx", []string{"block_size=8M"}, vhd.FormatVHDX, vhd.Dynamic},
		{"vhdx", []string{"block_size=32M"}, vhd.FormatVHDX, vhd.Dynamic},
		{"vhdx", []string{"subformat=fixed", "block_size=1M"}, vhd.FormatVHDX, vhd.Fixed},
		{"vhdx", []string{"subformat=fixed", "block_size=8M"}, vhd.FormatVHDX, vhd.Fixed},
		{"vhdx", []string{"subformat=fixed", "block_size=32M"}, vhd.FormatVHDX, vhd.Fixed},
	}
	for name, raw := range raws {
		for _, v := range variants {
			t.Run(name+"/"+v.format+"/"+joinOpts(v.opts), func(t *testing.T) {
				img := vhdtest.Convert(t, raw, v.format, v.opts...)
				p := mustParse(t, img, vhd.Options{})
				if p.info.Format != v.want || p.info.Type != v.typ {
					t.Fatalf("info %+v, want %v %v", p.info, v.want, v.typ)
				}
				vhdtest.Compare(t, raw, p.raw)
				vhdtest.Compare(t, img, p.raw)
				if name == "empty" && p.count(vhd.Payload) > 0 && v.typ != vhd.Fixed {
					t.Fatalf("empty dynamic disk has %d payload pieces", p.count(vhd.Payload))
				}
				checkWriters(t, p, raw)
			})
		}
	}
}

func joinOpts(o []string) string {
	s := "default"
	for i, x := range o {
		if i == 0 {
			s = x
		} else {
			s += "," + x
		}
	}
	return s
}

func TestRawStream(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 9<<20+1536, "rtz")
	p := mustParse(t, raw, vhd.Options{})
	if p.info.Format != vhd.FormatRaw || p.info.VirtualSize != 9<<20+1536 || p.count(vhd.Meta) != 0 {
		t.Fatalf("info %+v, %d meta pieces", p.info, p.count(vhd.Meta))
	}
	for _, pc := range p.pieces {
		if pc.Kind != vhd.Payload || pc.VOff != pc.FileOff {
			t.Fatalf("raw piece %+v", pc)
		}
	}
	sameFile(t, raw, p.raw)

	// A fixed VHD forced raw is all payload, footer included.
	fixed := vhdtest.Convert(t, raw, "vpc", "subformat=fixed", "force_size=on")
	p = mustParse(t, fixed, vhd.Options{Format: vhd.FormatRaw})
	if p.info.Format != vhd.FormatRaw || p.count(vhd.Meta) != 0 {
		t.Fatalf("forced raw: %+v", p.info)
	}
	p = mustParse(t, fixed, vhd.Options{Format: vhd.FormatVHD})
	if p.info.Format != vhd.FormatVHD || p.info.Type != vhd.Fixed || p.count(vhd.Meta) != 1 {
		t.Fatalf("fixed vhd: %+v", p.info)
	}
	sameFile(t, raw, p.raw)
}
