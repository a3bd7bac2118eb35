//go:build !windows

package main

import (
	"bytes"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// chunkyReader returns the bytes of r in reads of random sizes up to max.
type chunkyReader struct {
	r   io.Reader
	rng *mrand.Rand
	max int
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), 1+c.rng.IntN(c.max))])
}

// sparseData is 40 MiB, about a third data, with data runs between zero runs of every size
// around holeBlock and copyBuf, ending in a partial block.
func sparseData() (data []byte, nonZero int) {
	data = make([]byte, 40<<20+12345)
	rng := mrand.New(mrand.NewPCG(1, 2))
	for off := 0; off < len(data); {
		n := min(len(data)-off, 1+rng.IntN(3*copyBuf))
		if rng.IntN(3) == 0 {
			for i := off; i < off+n; i++ {
				data[i] = byte(rng.Uint32() | 1)
			}
			nonZero += n
		}
		off += n
	}
	return data, nonZero
}

// TestSparseReadFrom: io.Copy into an output file (ReadFrom: reads and
// writes in parallel) gives the bytes, with the aligned zero blocks as
// holes, whatever the sizes of the reads, also after a Write that began a
// block.
func TestSparseReadFrom(t *testing.T) {
	data, nonZero := sparseData()
	for _, tc := range []struct {
		name  string
		first int // bytes given to Write first
		max   int // largest read
	}{{"large reads", 0, 4 << 20}, {"small reads", 0, 5000}, {"after a Write", 3001, 1 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "out")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := newSparseFile(f)
			if _, err := s.Write(data[:tc.first]); err != nil {
				t.Fatal(err)
			}
			r := &chunkyReader{r: bytes.NewReader(data[tc.first:]), rng: mrand.New(mrand.NewPCG(3, 4)), max: tc.max}
			n, err := io.Copy(&outFile{w: s, holes: s, tmp: f}, r)
			if err != nil || n != int64(len(data)-tc.first) {
				t.Fatalf("copy: %d bytes, %v", n, err)
			}
			if err := s.finish(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("the file differs (%d bytes of %d, %v)", len(got), len(data), err)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				t.Fatal(err)
			}
			// Every data run costs at most two partial blocks.
			if used := st.Blocks * 512; used > int64(nonZero)+int64(len(data))/copyBuf*2*holeBlock {
				t.Errorf("%d bytes allocated for %d of data", used, nonZero)
			} else if used > int64(len(data))/2 {
				t.Errorf("%d bytes allocated of %d: not sparse", used, len(data))
			}
		})
	}
}

// TestSparseReadFromFailures: a failing reader ends the copy with its
// error; a failing file with the write's error, without reading the rest.
func TestSparseReadFromFailures(t *testing.T) {
	data, _ := sparseData()
	dir := t.TempDir()
	boom := errors.New("connection reset")
	f, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := io.MultiReader(bytes.NewReader(data[:5<<20]), iotestErr{boom})
	if _, err := newSparseFile(f).ReadFrom(r); !errors.Is(err, boom) {
		t.Errorf("failing reader: %v, want its error", err)
	}

	ro, err := os.Open(filepath.Join(dir, "out")) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	src := bytes.NewReader(data)
	_, err = newSparseFile(ro).ReadFrom(src)
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Errorf("failing file: %v, want the write's error", err)
	}
	if src.Len() == 0 {
		t.Error("the copy read the whole stream after the file failed")
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }
