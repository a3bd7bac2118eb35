package api_test

import (
	"bytes"
	"context"
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
			id := openSession(t, s, "HV01", "VM1")
			path := "/api/v1/sessions/" + id + "/disks/disk0"
			if st, code := call(t, s, "PUT", path+c.query, s.AdminToken, bytes.NewReader(c.body)); st != 400 || code != "EMPTY_DISK" {
				t.Fatalf("PUT: %d %s, want 400 EMPTY_DISK", st, code)
			}
			if st, _ := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil); st < 400 || st > 499 {
				t.Fatalf("complete after the empty disk: %d, want 4xx", st)
			}
			if n := snapshotCount(t, s); n != snapshots {
				t.Fatalf("%d snapshots after an empty disk, want %d", n, snapshots)
			}
			if i%2 == 1 {
				if st, _ := call(t, s, "POST", "/api/v1/sessions/"+id+"/abort", s.AdminToken, nil); st != 200 {
					t.Fatalf("abort: %d", st)
				}
				if n := snapshotCount(t, s); n != snapshots {
					t.Fatalf("%d snapshots after abort, want %d", n, snapshots)
				}
				return
			}
			if st, code := call(t, s, "PUT", path, s.AdminToken, bytes.NewReader(realDisk)); st != 200 {
				t.Fatalf("PUT of a real disk: %d %s", st, code)
			}
			rc, err := s.Client("").Complete(context.Background(), id)
			if err != nil {
				t.Fatalf("complete: %v", err)
			}
			snapshots++
			if len(rc.Disks) != 1 || rc.Disks[0].VirtualSize != int64(len(realDisk)) {
				t.Fatalf("receipt disks %+v", rc.Disks)
			}
		})
	}
	if n := snapshotCount(t, s); n != snapshots {
		t.Fatalf("%d snapshots, want %d", n, snapshots)
	}
}
