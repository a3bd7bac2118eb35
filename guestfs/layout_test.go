package guestfs

import (
	"context"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fileRanges returns the disk ranges of a file's data runs.
func fileRanges(t *testing.T, fs *FS, path string) []diskmap.Range {
	t.Helper()
	var out []diskmap.Range
	err := fs.do(context.Background(), "test", func() error {
		rec, _, err := fs.resolve(path)
		if err != nil {
			return err
		}
		s, err := fs.openStream(rec, attrData, "")
		if err != nil {
			return err
		}
		for _, e := range s.runs {
			if r, ok := fs.diskRange(e); ok {
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("runs of %s: %v", path, err)
	}
	return out
}

// fragmentedPart builds a volume whose frag.bin fills holes left by
// truncated files, so it has several runs, plus a page file.
func fragmentedPart(t *testing.T) (string, map[string][]byte) {
	files := testFiles()
	files["pagefile.sys"] = randBytes(4, 1<<20)
	for i := range 12 {
		files[fmt.Sprintf("hole%02d", i)] = randBytes(uint64(10+i), 64<<10)
	}
	part := mkPart(t, 24, files)
	copyIn := func(name string, b []byte) {
		files[name] = b
		src := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(src, b, 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "", "ntfscp", "-q", part, src, "/"+name)
	}
	// Fill the volume but for 64 KiB, so only the holes are left.
	copyIn("filler", randBytes(6, int(freeClusters(t, part)*4096-64<<10)))
	for i := 0; i < 12; i += 2 {
		name := fmt.Sprintf("hole%02d", i)
		run(t, "", "ntfstruncate", part, inode(t, part, "/"+name), "0")
		files[name] = []byte{}
	}
	copyIn("frag.bin", randBytes(5, 150<<10))
	return part, files
}

func total(rs []diskmap.Range) (n int64) {
	for _, r := range rs {
		n += r.Len
	}
	return n
}

func TestLayout(t *testing.T) {
	needTools(t)
	part, files := fragmentedPart(t)
	fs := openFS(t, mkDisk(t, part, "mbr"))
	lay, err := fs.Layout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, fs, files)
	partEnd := fs.part.Offset + fs.part.Size
	if !slices.IsSorted(lay.FileBoundaries) || lay.Truncated {
		t.Fatalf("boundaries not sorted, or truncated %v", lay.Truncated)
	}
	for i, r := range lay.Free {
		if r.Off < fs.part.Offset || r.End() > partEnd || r.Len <= 0 || (i > 0 && r.Off <= lay.Free[i-1].End()) {
			t.Fatalf("free range %d %+v out of order or outside the partition", i, r)
		}
	}
	for name := range files {
		rs := fileRanges(t, fs, "/"+name)
		switch {
		case name == "small.txt" && len(rs) != 0:
			t.Errorf("small.txt has runs %v; want it resident", rs)
		case name == "big.bin" && total(rs) < int64(len(files[name])):
			t.Errorf("big.bin runs cover %d bytes", total(rs))
		case name == "frag.bin":
			if len(rs) < 3 {
				t.Errorf("frag.bin has %d runs; the test wants a fragmented file", len(rs))
			}
		}
		for _, r := range rs {
			for _, b := range []int64{r.Off, r.End()} {
				if _, ok := slices.BinarySearch(lay.FileBoundaries, b); !ok {
					t.Errorf("%s: run %+v: %d is not a boundary", name, r, b)
				}
			}
			if left := diskmap.SubtractRanges([]diskmap.Range{r}, lay.Free); total(left) != r.Len {
				t.Errorf("%s: run %+v overlaps free space", name, r)
			}
		}
	}
	if want := fileRanges(t, fs, "/pagefile.sys"); !slices.Equal(lay.Volatile, diskmap.MergeRanges(want)) {
		t.Errorf("Volatile = %v, want the page file's %v", lay.Volatile, want)
	}
	if got, want := total(lay.Free), freeClusters(t, part)*fs.ClusterSize(); got != want {
		t.Errorf("free bytes %d, ntfsinfo says %d", got, want)
	}

	// Truncating big.bin to nothing frees its clusters.
	run(t, "", "ntfstruncate", part, inode(t, part, "/big.bin"), "0")
	files["big.bin"] = []byte{}
	fs2 := openFS(t, mkDisk(t, part, "mbr"))
	lay2, err := fs2.Layout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if grew := total(lay2.Free) - total(lay.Free); grew < 4<<20 {
		t.Errorf("free space grew by %d bytes after truncating a 4 MiB file", grew)
	}
	checkFiles(t, fs2, files)
}
