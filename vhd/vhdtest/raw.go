package vhdtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// RandomRaw writes a raw image of size bytes into dir and returns its path.
// pattern says what fills the image, one letter per region of
// size/len(pattern) bytes (sector aligned): 'r' random bytes, 't'
// compressible text, 'z' zeros. The content is deterministic for a given
// size and pattern.
func RandomRaw(t testing.TB, dir string, size int64, pattern string) string {
	t.Helper()
	if pattern == "" {
		pattern = "rtz"
	}
	p := filepath.Join(dir, fmt.Sprintf("random-%d-%s.raw", size, pattern))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	region := size / int64(len(pattern)) / 512 * 512
	rng := rand.New(rand.NewPCG(uint64(size), uint64(len(pattern))))
	for i, c := range pattern {
		off := int64(i) * region
		n := region
		if i == len(pattern)-1 {
			n = size - off
		}
		var b []byte
		switch c {
		case 'r':
			b = make([]byte, n)
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		case 't':
			var buf bytes.Buffer
			for int64(buf.Len()) < n {
				fmt.Fprintf(&buf, "line %d of region %d: the quick brown fox jumps over the lazy dog\n", rng.IntN(1000), i)
			}
			b = buf.Bytes()[:n]
		case 'z':
			continue
		default:
			t.Fatalf("RandomRaw: pattern letter %q", c)
		}
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// NTFSDisk builds a raw disk of sizeMiB with an MBR and one NTFS partition
// from 1 MiB holding files (flat names in the root), without mounting.
func NTFSDisk(t testing.TB, dir string, sizeMiB int, files map[string][]byte) string {
	t.Helper()
	if sizeMiB < 8 {
		t.Fatalf("NTFSDisk: %d MiB is too small", sizeMiB)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	ordered := make([]File, 0, len(names))
	for _, name := range names {
		ordered = append(ordered, File{Name: name, Data: files[name]})
	}
	return NTFSOrdered(t, filepath.Join(dir, fmt.Sprintf("ntfs-%d.raw", sizeMiB)), sizeMiB, ordered, nil)
}

// File is a file to put into an NTFS image, in order.
type File struct {
	Name string
	Data []byte
}

// NTFSOrdered builds a raw disk like NTFSDisk at path, copying files in the
// given order (so the same files land at different offsets in different
// images), then truncating the named files to zero length: their clusters
// become free but keep their old bytes, as deleted files do.
func NTFSOrdered(t testing.TB, path string, sizeMiB int, files []File, truncate []string) string {
	t.Helper()
	partMiB := sizeMiB - 2
	part := filepath.Join(t.TempDir(), "part.raw")
	for _, p := range []struct {
		path string
		mib  int
	}{{path, sizeMiB}, {part, partMiB}} {
		f, err := os.Create(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(int64(p.mib) << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	runStdin(t, "sfdisk", fmt.Sprintf("label: dos\nstart=2048, size=%d, type=7, bootable\n", partMiB*2048), "-q", path)
	Run(t, "mkntfs", "-F", "-Q", "-q", "-s", "512", "-L", "shadowvault", "-p", "2048", "-H", "255", "-S", "63", part)
	src := filepath.Join(t.TempDir(), "src")
	for _, f := range files {
		// ntfscp cannot create directories: a name may only go into one
		// that exists, such as "$Extend/name".
		if err := os.WriteFile(src, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		Run(t, "ntfscp", "-q", part, src, "/"+f.Name)
	}
	for _, name := range truncate {
		m := regexp.MustCompile(`Dumping Inode (\d+)`).FindStringSubmatch(Run(t, "ntfsinfo", "-F", "/"+name, part))
		if m == nil {
			t.Fatalf("ntfsinfo: no inode for %s", name)
		}
		Run(t, "ntfstruncate", part, m[1], "0")
	}
	b, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, 1<<20); err != nil {
		t.Fatal(err)
	}
	return path
}
