package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

func backupWith(t *testing.T, s *testserver.Server, vm string, hints, excludeFree bool, paths ...string) *receipt.Receipt {
	t.Helper()
	rc, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
		Host: "HV01", VM: vm, Type: "full", Consistency: "application", Disks: paths,
		ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, GuestHints: hints, ExcludeFree: excludeFree,
	})
	if err != nil {
		t.Fatalf("backup %s: %v", vm, err)
	}
	return rc
}

func toVHDX(t *testing.T, raw, name string) string {
	t.Helper()
	out := filepath.Join(filepath.Dir(raw), name)
	if err := os.Rename(vhdtest.Convert(t, raw, "vhdx"), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFreeSpaceExclusion: a disk with deleted files stores less with free
// space excluded, and its live files still read back identical.
func TestFreeSpaceExclusion(t *testing.T) {
	dir := t.TempDir()
	files := []vhdtest.File{
		{Name: "keep.bin", Data: random(2 << 20)},
		{Name: "keep.txt", Data: bytes.Repeat([]byte("still here "), 100000)},
		{Name: "gone1.bin", Data: random(6 << 20)},
		{Name: "gone2.bin", Data: random(3 << 20)},
	}
	raw := vhdtest.NTFSOrdered(t, filepath.Join(dir, "d.raw"), 40, files, []string{"gone1.bin", "gone2.bin"})
	img := toVHDX(t, raw, "os.vhdx")

	plain := testserver.Start(t, testserver.Options{})
	rcPlain := backupWith(t, plain, "VM1", true, false, img)
	lean := testserver.Start(t, testserver.Options{})
	rcLean := backupWith(t, lean, "VM1", true, true, img)
	n1, n2 := rcPlain.Disks[0].NewBytes, rcLean.Disks[0].NewBytes
	t.Logf("new bytes without exclusion %d, with %d", n1, n2)
	if n1-n2 < 8<<20 {
		t.Fatalf("excluding free space saved %d bytes; the deleted files hold 9 MiB", n1-n2)
	}
	m, err := lean.Repo.Snapshot(rcLean.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if g := m.Disks[0].Guest; g == nil || !g.FreeExcluded || g.FreeBytes < 8<<20 || g.Boundaries == 0 {
		t.Fatalf("manifest guest record %+v", g)
	}
	for _, f := range files[:2] {
		resp, err := httpGet(lean, "/api/v1/snapshots/"+rcLean.Snapshot+"/disks/os.vhdx/fs/1/cat?path=/"+f.Name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(buf.Bytes(), f.Data) {
			t.Fatalf("%s restored differently from a snapshot without free space", f.Name)
		}
	}
	// Without exclusion the original file comes back byte for byte.
	if got := restore(t, plain, rcPlain.Snapshot, "os.vhdx", "original"); !bytes.Equal(got, readFile(t, img)) {
		t.Fatal("original restore of a backup with boundaries only differs")
	}
}

// usrFiles picks a deterministic set of files from /usr.
func usrFiles(t *testing.T, budget int64) []vhdtest.File {
	var paths []string
	for _, root := range []string{"/usr/lib", "/usr/share"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
	}
	sort.Strings(paths)
	var out []vhdtest.File
	var total int64
	for i, p := range paths {
		if i%7 != 0 {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Size() < 16<<10 || fi.Size() > 4<<20 {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if total+int64(len(data)) > budget {
			break
		}
		total += int64(len(data))
		out = append(out, vhdtest.File{Name: filepath.Base(filepath.Dir(p)) + "_" + filepath.Base(p), Data: data})
	}
	if total < budget/2 {
		t.Fatalf("only %d bytes of files under /usr", total)
	}
	return out
}

// TestGuestHintsDedup: three VMs hold the same files in a different order,
// plus data of their own. With file boundaries from the agent, the
// repository stores at most 0.36 of the input; plain content-defined
// chunking is measured in the same run for comparison.
func TestGuestHintsDedup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three NTFS images: runs in the full (non-race) pass of make test")
	}
	shared := usrFiles(t, 32<<20)
	dir := t.TempDir()
	var imgs []string
	var input int64
	for vm := 0; vm < 3; vm++ {
		order := append([]vhdtest.File(nil), shared...)
		r := mrand.New(mrand.NewPCG(uint64(vm), 99))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		mid := len(order) / 2
		order = append(order[:mid], append([]vhdtest.File{{Name: "unique.bin", Data: random(10 << 20)}}, order[mid:]...)...)
		raw := vhdtest.NTFSOrdered(t, filepath.Join(dir, "vm"+string(rune('0'+vm))+".raw"), 64, order, nil)
		// Dynamic VHD with 2 MiB blocks: the file is about the data it holds,
		// as in the corpus of DESIGN.md.
		img := filepath.Join(dir, "vm"+string(rune('0'+vm))+".vhd")
		if err := os.Rename(vhdtest.Convert(t, raw, "vpc", "force_size=on"), img); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		fi, _ := os.Stat(img)
		input += fi.Size()
	}
	ratio := func(hints bool) float64 {
		s := testserver.Start(t, testserver.Options{PackSize: 16 << 20})
		for i, img := range imgs {
			backupWith(t, s, "VM"+string(rune('0'+i)), hints, false, img)
		}
		_, _, stored, _ := s.Index.Counts()
		return float64(stored) / float64(input)
	}
	plain, hinted := ratio(false), ratio(true)
	t.Logf("stored/input over %d bytes of VHD: plain CDC %.3f, with file boundaries %.3f", input, plain, hinted)
	if hinted > 0.36 {
		t.Fatalf("with hints the repository stores %.3f of the input, want at most 0.36", hinted)
	}
	if hinted >= plain {
		t.Fatalf("hints did not help: %.3f with, %.3f without", hinted, plain)
	}
}
