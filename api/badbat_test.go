package api_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// vhdxRegion returns the file offset of the region whose GUID begins with
// data1 (0x2DC27766 BAT, 0x8B7CA206 metadata) in the first region table.
func vhdxRegion(t *testing.T, img []byte, data1 uint32) int {
	t.Helper()
	const rt = 192 << 10
	for i := 0; i < int(binary.LittleEndian.Uint32(img[rt+8:])); i++ {
		if e := img[rt+16+32*i:]; binary.LittleEndian.Uint32(e) == data1 {
			return int(binary.LittleEndian.Uint64(e[16:]))
		}
	}
	t.Fatalf("no vhdx region %08x", data1)
	return 0
}

// TestBadBATEntries uploads VHDX files whose BAT points a payload block
// where it cannot lie. Each PUT is a 400 with a code and no receipt; the
// session then completes with the good disk uploaded under the same name,
// or is aborted, and only completed sessions become snapshots.
func TestBadBATEntries(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 4<<20, "rtrt")
	good := readFile(t, vhdtest.Convert(t, raw, "vhdx", "block_size=1M"))
	bat, meta := vhdxRegion(t, good, 0x2DC27766), vhdxRegion(t, good, 0x8B7CA206)
	entry := func(i int) uint64 { return binary.LittleEndian.Uint64(good[bat+8*i:]) }
	if entry(0)&7 != 6 || entry(1)&7 != 6 {
		t.Fatal("fixture: blocks 0 and 1 are not fully present")
	}
	patch := func(i int, e uint64) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint64(b[bat+8*i:], e)
		return b
	}
	endMB := uint64(len(good)) >> 20
	s := testserver.Start(t, testserver.Options{})
	snapshots := 0
	for i, c := range []struct {
		name string
		body []byte
		code string
	}{
		{"offset overflows", patch(0, (1<<44-1)<<20|6), "BAD_DISK_IMAGE"},
		{"offset overflows int64", patch(0, 1<<63|6), "BAD_DISK_IMAGE"},
		{"offset in header area", patch(0, 6), "BAD_DISK_IMAGE"},
		{"two entries one block", patch(1, entry(0)), "BAD_DISK_IMAGE"},
		{"over the BAT", patch(0, uint64(bat)|6), "BAD_DISK_IMAGE"},
		{"over the metadata", patch(1, uint64(meta)|6), "BAD_DISK_IMAGE"},
		// Past the end: a BAT entry outside the file looks like a file cut
		// short, and the truncation code is the more specific one.
		{"beyond the end of the file", patch(0, (endMB+64)<<20|6), "TRUNCATED_IMAGE"},
		{"across the end of the file", append(patch(1, endMB<<20|6), make([]byte, 512<<10)...), "TRUNCATED_IMAGE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := rejectedDisk(t, s, "disk0.vhdx", "", c.body, c.code, good, i%2 == 1, &snapshots)
			if rc != nil && !bytes.Equal(restore(t, s, rc.Snapshot, "disk0.vhdx", "raw"), readFile(t, raw)) {
				t.Fatal("raw restore of the good disk differs from its source")
			}
		})
	}
	if n := snapshotCount(t, s); n != snapshots {
		t.Fatalf("%d snapshots, want %d", n, snapshots)
	}
}
