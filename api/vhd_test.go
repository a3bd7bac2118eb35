package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// restoreTo restores a disk into a file of the format's extension.
func restoreTo(t *testing.T, s *testserver.Server, snap, disk, format string) string {
	t.Helper()
	ext := format
	if format == "original" {
		ext = strings.TrimPrefix(filepath.Ext(disk), ".")
	}
	out := filepath.Join(t.TempDir(), fmt.Sprintf("restored-%s.%s", format, ext))
	if err := os.WriteFile(out, restore(t, s, snap, disk, format), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestContainerRoundTrips backs up VHD and VHDX images made by qemu-img and
// restores them in every format.
func TestContainerRoundTrips(t *testing.T) {
	dir := t.TempDir()
	ntfs := vhdtest.NTFSDisk(t, dir, 24, map[string][]byte{
		"notes.txt": bytes.Repeat([]byte("backup me "), 3000),
		"blob.bin":  random(3<<20 + 123),
	})
	mixedRaw := vhdtest.RandomRaw(t, dir, 13<<20+3584, "rtzr")
	empty := vhdtest.RandomRaw(t, dir, 8<<20, "z")
	type variant struct {
		format string
		opts   []string
	}
	variants := []variant{
		{"vpc", nil}, {"vpc", []string{"force_size=on"}},
		{"vpc", []string{"subformat=fixed"}}, {"vpc", []string{"subformat=fixed", "force_size=on"}},
		{"vhdx", []string{"block_size=1M"}}, {"vhdx", []string{"block_size=8M"}},
		{"vhdx", []string{"block_size=32M"}}, {"vhdx", []string{"subformat=fixed", "block_size=8M"}},
	}
	s := testserver.Start(t, testserver.Options{})
	for _, raw := range []string{ntfs, mixedRaw, empty} {
		for i, v := range variants {
			name := fmt.Sprintf("%s-%d", filepath.Base(raw), i)
			t.Run(name, func(t *testing.T) {
				vdir := t.TempDir()
				src := filepath.Join(vdir, "src.raw")
				os.WriteFile(src, readFile(t, raw), 0o600)
				img := vhdtest.Convert(t, src, v.format, v.opts...)
				ext := map[string]string{"vpc": "vhd", "vhdx": "vhdx"}[v.format]
				disk := "disk0." + ext
				os.Rename(img, filepath.Join(vdir, disk))
				img = filepath.Join(vdir, disk)
				rc := backup(t, s, "HV01", name, img)
				if got := rc.Disks[0].Format; got != ext {
					t.Fatalf("detected format %q, want %q", got, ext)
				}
				orig := restoreTo(t, s, rc.Snapshot, disk, "original")
				if sha256.Sum256(readFile(t, orig)) != sha256.Sum256(readFile(t, img)) {
					t.Fatal("original restore is not byte-identical")
				}
				rawOut := restoreTo(t, s, rc.Snapshot, disk, "raw")
				vhdtest.Compare(t, rawOut, src)
				for _, f := range []string{"vhd", "vhdx"} {
					out := restoreTo(t, s, rc.Snapshot, disk, f)
					vhdtest.QemuImg(t, "info", out)
					if f == "vhdx" {
						vhdtest.QemuImg(t, "check", out)
					}
					vhdtest.Compare(t, out, src)
				}
			})
		}
	}
}

// TestVHDAndVHDXShareChunks backs up the same disk as VHD and as VHDX: the
// second stores no new virtual content.
func TestVHDAndVHDXShareChunks(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 16<<20, "rrtz")
	v1 := vhdtest.Convert(t, raw, "vpc")
	v2 := vhdtest.Convert(t, raw, "vhdx")
	s := testserver.Start(t, testserver.Options{})
	rc1 := backup(t, s, "HV01", "VM1", v1)
	chunksBefore, _, _, _ := s.Index.Counts()
	rc2 := backup(t, s, "HV01", "VM2", v2)
	m, err := s.Repo.Snapshot(rc2.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := m.Disk(filepath.Base(v2))
	dm, err := s.Repo.LoadDiskMap(context.Background(), md.DiskMap)
	if err != nil {
		t.Fatal(err)
	}
	var meta int64
	for _, p := range dm.Recipe {
		if p.Kind == 1 { // container bytes stored as chunks
			meta += p.Length
		}
	}
	if rc2.Disks[0].NewBytes > meta {
		t.Fatalf("VHDX of the same disk stored %d new bytes; only its %d container bytes may be new", rc2.Disks[0].NewBytes, meta)
	}
	chunksAfter, _, _, _ := s.Index.Counts()
	t.Logf("VHD: %d new bytes; VHDX: %d new bytes (%d container bytes); chunks %d -> %d", rc1.Disks[0].NewBytes, rc2.Disks[0].NewBytes, meta, chunksBefore, chunksAfter)
}

// TestDifferencingChain uploads a parent and its differencing child in one
// session and restores the child as it was and merged.
func TestDifferencingChain(t *testing.T) {
	dir := t.TempDir()
	parentRaw := vhdtest.RandomRaw(t, dir, 8<<20, "rtrz")
	m := readFile(t, parentRaw)
	copy(m[3*512:], bytes.Repeat([]byte("changed sectors "), 100)[:3*512])
	clear(m[1<<20 : 2<<20])
	for i := 3 << 20; i < 4<<20; i++ {
		m[i] = byte(i*7 + 1)
	}
	merged := filepath.Join(dir, "merged.raw")
	os.WriteFile(merged, m, 0o600)
	for _, format := range []string{"vhd", "vhdx"} {
		t.Run(format, func(t *testing.T) {
			s := testserver.Start(t, testserver.Options{})
			qf := map[string]string{"vhd": "vpc", "vhdx": "vhdx"}[format]
			pdir := t.TempDir()
			parentImg := filepath.Join(pdir, "parent."+format)
			os.Rename(vhdtest.Convert(t, parentRaw, qf), parentImg)
			st, err := vhd.NewStream(bytes.NewReader(readFile(t, parentImg)), vhd.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := st.Next(); err != nil {
					break
				}
			}
			id := st.Info().DiskID
			if format == "vhdx" {
				id = st.Info().DataWriteID
			}
			child := filepath.Join(pdir, "child."+format)
			parent := vhdtest.Parent{Path: `D:\Hyper-V\SQL01\parent.` + format, ID: id, Raw: parentRaw}
			if format == "vhd" {
				vhdtest.DiffVHD(t, child, parent, merged)
			} else {
				vhdtest.DiffVHDX(t, child, parent, merged)
			}
			rc := backup(t, s, "HV01", "SQL01", parentImg, child)
			snap, err := s.Repo.Snapshot(rc.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := snap.Disk("child." + format); d.Parent != "parent."+format {
				t.Fatalf("child recorded with parent %q", d.Parent)
			}
			orig := restore(t, s, rc.Snapshot, "child."+format, "original")
			if !bytes.Equal(orig, readFile(t, child)) {
				t.Fatal("child original restore differs")
			}
			if got := restore(t, s, rc.Snapshot, "child."+format, "raw"); !bytes.Equal(got, m) {
				t.Fatal("merged raw restore differs from the expected disk")
			}
			for _, f := range []string{"vhd", "vhdx"} {
				out := restoreTo(t, s, rc.Snapshot, "child."+format, f)
				vhdtest.Compare(t, out, merged)
			}
		})
	}
}

// TestDifferencingWithoutParent: a child uploaded alone restores as its
// original file; a merged restore says the parent is missing.
func TestDifferencingWithoutParent(t *testing.T) {
	dir := t.TempDir()
	parentRaw := vhdtest.RandomRaw(t, dir, 4<<20, "rz")
	m := readFile(t, parentRaw)
	copy(m[4096:], bytes.Repeat([]byte{7}, 8192))
	merged := filepath.Join(dir, "merged.raw")
	os.WriteFile(merged, m, 0o600)
	child := filepath.Join(dir, "child.vhd")
	vhdtest.DiffVHD(t, child, vhdtest.Parent{Path: `C:\p.vhd`, ID: [16]byte{1}, Raw: parentRaw}, merged)
	s := testserver.Start(t, testserver.Options{})
	rc := backup(t, s, "HV01", "VM1", child)
	if !bytes.Equal(restore(t, s, rc.Snapshot, "child.vhd", "original"), readFile(t, child)) {
		t.Fatal("original restore differs")
	}
	if st, code := call(t, s, "GET", "/api/v1/snapshots/"+rc.Snapshot+"/disks/child.vhd?format=raw", s.AdminToken, nil); st != 409 || code != "PARENT_MISSING" {
		t.Fatalf("merged restore without parent: %d %s", st, code)
	}
}

// TestBadImages sends broken containers: each gets a 4xx with a code and no
// snapshot appears.
func TestBadImages(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 6<<20, "rtr")
	dyn := readFile(t, vhdtest.Convert(t, raw, "vpc"))
	vhdx := readFile(t, vhdtest.Convert(t, raw, "vhdx"))
	corruptFooter := append([]byte(nil), dyn...)
	corruptFooter[len(corruptFooter)-512+70] ^= 0xff // checksum field of the trailing footer
	corruptBAT := append([]byte(nil), vhdx...)
	// find the BAT through the stream: corrupt the first BAT entry's offset
	batAt := findVHDXBAT(t, vhdx)
	corruptBAT[batAt+7] = 0x7f
	s := testserver.Start(t, testserver.Options{})
	for _, c := range []struct {
		name, format string
		body         []byte
		code         string
	}{
		{"truncated vhd", "", dyn[:len(dyn)/2], "TRUNCATED_IMAGE"},
		{"truncated vhdx", "", vhdx[:3<<20], "TRUNCATED_IMAGE"},
		{"corrupt vhd footer", "", corruptFooter, "BAD_DISK_IMAGE"},
		{"corrupt vhdx bat", "", corruptBAT, "BAD_DISK_IMAGE"},
		// The trailing footer of a dynamic VHD must end the stream.
		{"vhd with data after it", "", append(append([]byte(nil), dyn...), random(5000)...), "BAD_DISK_IMAGE"},
		{"garbage forced as vhdx", "vhdx", random(1 << 20), "FORMAT_MISMATCH"},
		{"garbage forced as vhd", "vhd", random(1 << 20), "FORMAT_MISMATCH"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A VM of its own: the failed upload leaves its session open.
			id := openSession(t, s, "HV01", "VM "+c.name)
			path := "/api/v1/sessions/" + id + "/disks/d.img"
			if c.format != "" {
				path += "?format=" + c.format
			}
			st, code := call(t, s, "PUT", path, s.AdminToken, bytes.NewReader(c.body))
			if st < 400 || st > 499 || code != c.code {
				t.Fatalf("status %d code %s, want 4xx %s", st, code, c.code)
			}
			if st, code := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil); st != 409 || code != "DISK_FAILED" {
				t.Fatalf("complete after a rejected disk: %d %s", st, code)
			}
		})
	}
	if n := snapshotCount(t, s); n != 0 {
		t.Fatalf("%d snapshots after bad images", n)
	}
}

// findVHDXBAT returns the file offset of the BAT region of a VHDX.
func findVHDXBAT(t *testing.T, img []byte) int {
	t.Helper()
	// region table at 192 KiB: entries of 32 bytes after a 16-byte header
	const rt = 192 << 10
	batGUID := []byte{0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42, 0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08}
	for i := 0; i < 8; i++ {
		e := img[rt+16+32*i:]
		if bytes.Equal(e[:16], batGUID) {
			return int(leU64(e[16:]))
		}
	}
	t.Fatal("no BAT region")
	return 0
}

func leU64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// TestSpilledContainers: a VHD and a VHDX whose BAT comes after the payload
// are spooled and stored right; over the spool limit they are refused.
func TestSpilledContainers(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 12<<20, "rtzr")
	vhdPath, vhdxPath := filepath.Join(dir, "late.vhd"), filepath.Join(dir, "late.vhdx")
	vhdtest.SpillVHD(t, vhdPath, raw)
	vhdtest.SpillVHDX(t, vhdxPath, raw)
	ok := testserver.Start(t, testserver.Options{})
	tight := testserver.Start(t, testserver.Options{SpillLimit: 1 << 20})
	for _, img := range []string{vhdPath, vhdxPath} {
		rc := backup(t, ok, "HV01", "VM1", img)
		if !bytes.Equal(restore(t, ok, rc.Snapshot, filepath.Base(img), "raw"), readFile(t, raw)) {
			t.Fatalf("%s: raw restore differs", img)
		}
		if !bytes.Equal(restore(t, ok, rc.Snapshot, filepath.Base(img), "original"), readFile(t, img)) {
			t.Fatalf("%s: original restore differs", img)
		}
		id := openSession(t, tight, "HV01", "VM-"+filepath.Base(img)) // the refused upload leaves it open
		st, code := call(t, tight, "PUT", "/api/v1/sessions/"+id+"/disks/d", tight.AdminToken, bytes.NewReader(readFile(t, img)))
		if st != 413 || code != "SPILL_LIMIT" {
			t.Fatalf("%s over the spool limit: %d %s", img, st, code)
		}
	}
}
