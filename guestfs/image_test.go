package guestfs

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// needTools skips the test when the ntfs-3g and fdisk tools are missing.
func needTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"mkntfs", "ntfscp", "sfdisk", "ntfstruncate", "ntfsinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: make test installs ntfs-3g and fdisk", tool)
		}
	}
}

func run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// mkPart makes an NTFS partition file of sizeMiB and copies files in with
// ntfscp. Names may be "$Extend/name": $Extend is the one directory
// mkntfs creates, and ntfs-3g has no tool to make others without
// mounting.
func mkPart(t testing.TB, sizeMiB int, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	part := filepath.Join(dir, "part.raw")
	if err := os.WriteFile(part, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(part, int64(sizeMiB)<<20); err != nil {
		t.Fatal(err)
	}
	run(t, "", "mkntfs", "-F", "-Q", "-q", "-s", "512", "-L", "guestfs", "-p", "2048", "-H", "255", "-S", "63", part)
	for _, name := range sortedNames(files) {
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, files[name], 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "", "ntfscp", "-q", part, src, "/"+name)
	}
	return part
}

// mkDisk puts a partition file on a disk with the given table: "mbr",
// "gpt" (partition at 1 MiB) or "none" (the partition is the disk).
func mkDisk(t testing.TB, part, table string) string {
	t.Helper()
	b, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	if table == "none" {
		return part
	}
	disk := filepath.Join(t.TempDir(), table+".raw")
	if err := os.WriteFile(disk, make([]byte, len(b)+2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	typ := map[string]string{"mbr": "dos", "gpt": "gpt"}[table]
	id := map[string]string{"mbr": "7", "gpt": "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"}[table]
	script := fmt.Sprintf("label: %s\nstart=2048, size=%d, type=%s, name=\"Basic data partition\"\n", typ, len(b)/512, id)
	if table == "mbr" {
		script = fmt.Sprintf("label: dos\nstart=2048, size=%d, type=7\n", len(b)/512)
	}
	run(t, script, "sfdisk", "-q", disk)
	writeAt(t, disk, b, 1<<20)
	return disk
}

func writeAt(t testing.TB, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// freeClusters asks ntfsinfo how many clusters a partition file has free.
func freeClusters(t testing.TB, part string) int64 {
	t.Helper()
	m := regexp.MustCompile(`Free Clusters: (\d+)`).FindStringSubmatch(run(t, "", "ntfsinfo", "-m", part))
	if m == nil {
		t.Fatal("ntfsinfo: no free cluster count")
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// inode asks ntfsinfo for the MFT record number of a path.
func inode(t testing.TB, part, path string) string {
	t.Helper()
	m := regexp.MustCompile(`Dumping Inode (\d+)`).FindStringSubmatch(run(t, "", "ntfsinfo", "-F", path, part))
	if m == nil {
		t.Fatalf("ntfsinfo: no inode for %s", path)
	}
	return m[1]
}

func sortedNames(files map[string][]byte) []string {
	return slices.Sorted(maps.Keys(files))
}

// openDisk opens a disk image file as a bytes.Reader.
func openDisk(t testing.TB, path string) (*bytes.Reader, int64) {
	b := readFile(t, path)
	return bytes.NewReader(b), int64(len(b))
}
