package vhd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// mergeOverParent applies the child's pieces to the parent's content.
func mergeOverParent(t *testing.T, p *parsed, parentRaw string) []byte {
	t.Helper()
	out, err := os.ReadFile(parentRaw)
	if err != nil {
		t.Fatal(err)
	}
	child, err := os.ReadFile(p.raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range p.pieces {
		switch pc.Kind {
		case vhd.Payload, vhd.Virtual:
			copy(out[pc.VOff:pc.VOff+pc.Len], child[pc.VOff:])
		case vhd.Zero:
			clear(out[pc.VOff : pc.VOff+pc.Len])
		}
	}
	return out
}

func TestDifferencing(t *testing.T) {
	dir := t.TempDir()
	parentRaw := vhdtest.RandomRaw(t, dir, 8<<20, "rtrz")
	m, err := os.ReadFile(parentRaw)
	if err != nil {
		t.Fatal(err)
	}
	copy(m[3*512:], bytes.Repeat([]byte("changed sectors 3-5 "), 77)[:3*512]) // inside one bitmap byte
	clear(m[1<<20 : 2<<20])                                                   // a block that became zero
	for i := 3 << 20; i < 4<<20; i++ {                                        // a block rewritten everywhere
		m[i] = byte(i*7 + 1)
	}
	copy(m[5<<20+4096:], bytes.Repeat([]byte{0xAB}, 65536)) // part of a 2 MiB VHD block
	merged := filepath.Join(dir, "merged.raw")
	if err := os.WriteFile(merged, m, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"vhd", "vhdx"} {
		t.Run(format, func(t *testing.T) {
			parentImg := vhdtest.Convert(t, parentRaw, format)
			pp := mustParse(t, parentImg, vhd.Options{})
			parent := vhdtest.Parent{Path: `C:\VMs\` + filepath.Base(parentImg), ID: pp.info.DiskID, Raw: parentRaw}
			child := filepath.Join(t.TempDir(), "child."+format)
			if format == "vhd" {
				vhdtest.DiffVHD(t, child, parent, merged)
			} else {
				vhdtest.DiffVHDX(t, child, parent, merged)
			}
			p := mustParse(t, child, vhd.Options{})
			i := p.info
			if i.Type != vhd.Differencing || !i.HasParent || i.ParentID != parent.ID || !slices.Contains(i.ParentLocators, parent.Path) {
				t.Fatalf("info %+v", i)
			}
			if got := mergeOverParent(t, p, parentRaw); !bytes.Equal(got, m) {
				t.Fatalf("child over parent differs from the merged image")
			}
		})
	}
}

func TestLogReplay(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 6<<20, "rtrzrt")
	img, want := filepath.Join(dir, "log.vhdx"), filepath.Join(dir, "want.raw")
	vhdtest.LogVHDX(t, img, raw, want)
	p := mustParse(t, img, vhd.Options{}) // also checks the original file reproduces
	if !p.info.LogReplayed || p.count(vhd.Virtual) == 0 || p.count(vhd.Zero) == 0 {
		t.Fatalf("info %+v, %d virtual, %d zero pieces", p.info, p.count(vhd.Virtual), p.count(vhd.Zero))
	}
	got, err := os.ReadFile(p.raw)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := os.ReadFile(want)
	for _, pc := range p.pieces {
		if pc.Kind == vhd.Zero {
			clear(got[pc.VOff : pc.VOff+pc.Len])
		}
	}
	if !bytes.Equal(got, w) {
		t.Fatalf("replayed content differs")
	}
}

func TestSpill(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 20<<20, "rtrzr")
	for name, gen := range map[string]func(testing.TB, string, string){"vhd": vhdtest.SpillVHD, "vhdx": vhdtest.SpillVHDX} {
		t.Run(name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "spill."+name)
			gen(t, img, raw)
			p := mustParse(t, img, vhd.Options{SpillDir: t.TempDir()})
			sameFile(t, raw, p.raw)
			vhdtest.QemuImg(t, "info", img)
			_, err := parseFile(t, img, vhd.Options{SpillLimit: 4 << 20})
			wantErr(t, err, vhd.ErrSpillLimit)
		})
	}
}
