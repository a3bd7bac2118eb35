package api_test

import (
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestEmptyDiskRefused: a disk without content (a 0-byte body, or a VHD or
// VHDX of virtual size 0 as qemu-img creates them) is a 400 EMPTY_DISK and
// never a snapshot: with a keep_daily policy an empty snapshot would be
// kept as the day's last and the real backup removed. The session stays
// usable: it completes with a real disk, or is aborted.
func TestEmptyDiskRefused(t *testing.T) {
	dir := t.TempDir()
	zeroSize := func(name string, args ...string) []byte {
		p := filepath.Join(dir, name)
		vhdtest.QemuImg(t, append(append([]string{"create"}, args...), p, "0")...)
		return readFile(t, p)
	}
	realDisk := random(3 << 20)
	s := testserver.Start(t, testserver.Options{})
	snapshots := 0
	for i, c := range []struct {
		name, query string
		body        []byte
	}{
		{"0-byte body", "", nil},
		{"0-byte body forced raw", "?format=raw", nil},
		{"dynamic vhd of size 0", "", zeroSize("d.vhd", "-f", "vpc")},
		{"fixed vhd of size 0", "", zeroSize("f.vhd", "-f", "vpc", "-o", "subformat=fixed")},
		{"vhdx of size 0", "", zeroSize("x.vhdx", "-f", "vhdx", "-o", "block_size=1M")},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := rejectedDisk(t, s, "disk0", c.query, c.body, "EMPTY_DISK", realDisk, i%2 == 1, &snapshots)
			if rc != nil && (len(rc.Disks) != 1 || rc.Disks[0].VirtualSize != int64(len(realDisk))) {
				t.Fatalf("receipt disks %+v", rc.Disks)
			}
		})
	}
	if n := snapshotCount(t, s); n != snapshots {
		t.Fatalf("%d snapshots, want %d", n, snapshots)
	}
}
