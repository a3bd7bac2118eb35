package vhd_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// vhdxRegionAt returns the file offset of the region whose GUID starts with
// data1 (0x2DC27766 BAT, 0x8B7CA206 metadata) in the first region table.
func vhdxRegionAt(t *testing.T, b []byte, data1 uint32) int64 {
	t.Helper()
	const rt = 192 << 10
	for i := 0; i < int(binary.LittleEndian.Uint32(b[rt+8:])); i++ {
		e := b[rt+16+32*i:]
		if binary.LittleEndian.Uint32(e) == data1 {
			return int64(binary.LittleEndian.Uint64(e[16:]))
		}
	}
	t.Fatalf("no region %08x", data1)
	return 0
}

// batEntry encodes a BAT entry: FileOffsetMB and state.
func batEntry(mb uint64, state uint64) uint64 { return mb<<20 | state }

// TestVHDXBATPlacement patches the BAT of a qemu-made VHDX (1 MiB blocks,
// log at 1 MiB, BAT and metadata regions, then four blocks) so that an entry
// points where no payload block may lie, as qemu's vhdx driver checks on
// open. Each is refused with an error naming the BAT entry; a block past the
// end of the file is refused as truncated.
func TestVHDXBATPlacement(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 4<<20, "rtrt")
	good := vhdtest.Convert(t, raw, "vhdx", "block_size=1M")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bat, meta := vhdxRegionAt(t, b, 0x2DC27766), vhdxRegionAt(t, b, 0x8B7CA206)
	entry := func(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[bat+8*int64(i):]) }
	for i := 0; i < 4; i++ {
		if entry(b, i)&7 != 6 {
			t.Fatalf("block %d of the fixture is not fully present", i)
		}
	}
	endMB := uint64(len(b)) >> 20
	set := func(i int, e uint64) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint64(b[bat+8*int64(i):], e); return b }
	}
	cases := []struct {
		name string
		fn   func([]byte) []byte
		want error  // ErrCorrupt: the message names the entry
		what string // in the message
	}{
		{"offset overflows", set(0, batEntry(1<<44-1, 6)), vhd.ErrCorrupt, "BAT entry 0"},
		{"offset overflows int64", set(2, batEntry(1<<43, 6)), vhd.ErrCorrupt, "BAT entry 2"},
		{"offset far past any file", set(1, batEntry(1<<40, 6)), vhd.ErrCorrupt, "BAT entry 1"},
		{"offset in header area", set(0, batEntry(0, 6)), vhd.ErrCorrupt, "BAT entry 0"},
		{"two entries one block", set(3, entry(b, 1)), vhd.ErrCorrupt, "BAT entry"},
		{"over the log", set(0, batEntry(1, 6)), vhd.ErrCorrupt, "BAT entry 0"},
		{"over the BAT", set(1, batEntry(uint64(bat)>>20, 6)), vhd.ErrCorrupt, "BAT entry 1"},
		{"over the metadata", set(2, batEntry(uint64(meta)>>20, 6)), vhd.ErrCorrupt, "BAT entry 2"},
		{"beyond the end of the file", set(0, batEntry(endMB+16, 6)), vhd.ErrTruncated, ""},
		{"at the end of the file", set(3, batEntry(endMB, 6)), vhd.ErrTruncated, ""},
		{"across the end of the file", func(b []byte) []byte {
			return append(set(3, batEntry(endMB, 6))(b), make([]byte, 512<<10)...)
		}, vhd.ErrTruncated, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := mutate(t, good, c.fn)
			_, err := parseFile(t, bad, vhd.Options{})
			wantErr(t, err, c.want)
			t.Log(err)
			if !strings.Contains(err.Error(), c.what) {
				t.Fatalf("error %q does not name %q", err, c.what)
			}
			// The agent's random-access mapping refuses it too.
			f, ferr := os.Open(bad)
			if ferr != nil {
				t.Fatal(ferr)
			}
			defer f.Close()
			if _, err := vhd.OpenImage(f); !errors.Is(err, vhd.ErrCorrupt) && !errors.Is(err, vhd.ErrTruncated) {
				t.Fatalf("OpenImage: %v, want a corrupt or truncated image", err)
			}
		})
	}
	// qemu-img agrees that the overflowing entry is broken.
	bad := mutate(t, good, cases[0].fn)
	if out, err := exec.Command(vhdtest.Need(t, "qemu-img"), "info", bad).CombinedOutput(); err == nil {
		t.Fatalf("qemu-img info accepted the overflowing BAT entry:\n%s", out)
	}
	// The untouched fixture still parses to its source.
	sameFile(t, raw, mustParse(t, good, vhd.Options{}).raw)
}

// TestVHDXSectorBitmapPlacement patches the sector bitmap entry of a
// differencing VHDX with a partially present block.
func TestVHDXSectorBitmapPlacement(t *testing.T) {
	dir := t.TempDir()
	parentRaw := vhdtest.RandomRaw(t, dir, 4<<20, "r")
	m, err := os.ReadFile(parentRaw)
	if err != nil {
		t.Fatal(err)
	}
	copy(m[1<<20+4096:], bytes.Repeat([]byte("changed "), 512)) // part of block 1
	merged := filepath.Join(dir, "merged.raw")
	if err := os.WriteFile(merged, m, 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "child.vhdx")
	vhdtest.DiffVHDX(t, good, vhdtest.Parent{Path: `C:\VMs\parent.vhdx`, Raw: parentRaw}, merged)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bat := vhdxRegionAt(t, b, 0x2DC27766)
	const bitmapEntry = 4096 // 1 MiB blocks, 512-byte sectors: chunk ratio 4096
	if e := binary.LittleEndian.Uint64(b[bat+8*bitmapEntry:]); e&7 != 6 || binary.LittleEndian.Uint64(b[bat+8:])&7 != 7 {
		t.Fatalf("fixture: bitmap entry %#x, block 1 entry %#x", e, binary.LittleEndian.Uint64(b[bat+8:]))
	}
	mustParse(t, good, vhd.Options{})
	for name, e := range map[string]uint64{
		"offset overflows":       batEntry(1<<44-1, 6),
		"offset overflows int64": batEntry(1<<43, 6),
		"offset in header area":  batEntry(0, 6),
		"over the BAT":           batEntry(uint64(bat)>>20, 6),
		"over block 1":           binary.LittleEndian.Uint64(b[bat+8:])&^7 | 6,
	} {
		t.Run(name, func(t *testing.T) {
			bad := mutate(t, good, func(b []byte) []byte {
				binary.LittleEndian.PutUint64(b[bat+8*bitmapEntry:], e)
				return b
			})
			_, err := parseFile(t, bad, vhd.Options{})
			wantErr(t, err, vhd.ErrCorrupt)
			t.Log(err)
			if !strings.Contains(err.Error(), "BAT entry") && !strings.Contains(err.Error(), "bitmap") {
				t.Fatalf("error %q names no BAT entry", err)
			}
		})
	}
}
