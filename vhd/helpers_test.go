package vhd_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
)

// parsed is a container parsed through a Stream and rebuilt.
type parsed struct {
	info   vhd.Info
	raw    string // the virtual disk rebuilt from Payload/Virtual pieces
	alloc  [][2]int64
	pieces []vhd.Piece
}

// parseFile streams path through vhd.NewStream, checks the piece
// guarantees, checks that Meta+Payload rebuild the file byte for byte, and
// writes the virtual content to a raw file.
func parseFile(t *testing.T, path string, opts vhd.Options) (*parsed, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := vhd.NewStream(f, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := filepath.Join(t.TempDir(), "rebuilt.raw")
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	p := &parsed{raw: out}
	h := sha256.New()
	var fileOff int64
	buf := make([]byte, 1<<20)
	for {
		pc, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, err
		}
		p.pieces = append(p.pieces, pc)
		if pc.Len <= 0 {
			t.Fatalf("piece %+v: empty", pc)
		}
		switch pc.Kind {
		case vhd.Meta, vhd.Payload:
			if pc.FileOff != fileOff {
				t.Fatalf("piece %+v: want file offset %d", pc, fileOff)
			}
			fileOff += pc.Len
		case vhd.Virtual, vhd.Zero:
			if pc.FileOff != -1 {
				t.Fatalf("piece %+v: FileOff != -1", pc)
			}
		}
		var n int64
		for {
			m, err := s.Read(buf)
			if m > 0 {
				if pc.Kind != vhd.Virtual {
					h.Write(buf[:m])
				}
				if pc.Kind == vhd.Payload || pc.Kind == vhd.Virtual {
					if _, werr := o.WriteAt(buf[:m], pc.VOff+n); werr != nil {
						t.Fatal(werr)
					}
				}
				n += int64(m)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return p, err
			}
		}
		want := pc.Len
		if pc.Kind == vhd.Zero {
			want = 0
		}
		if n != want {
			t.Fatalf("piece %+v: read %d bytes", pc, n)
		}
		if pc.Kind != vhd.Meta {
			p.alloc = append(p.alloc, [2]int64{pc.VOff, pc.VOff + pc.Len})
		}
	}
	p.info = s.Info()
	st, _ := f.Stat()
	if fileOff != st.Size() || p.info.FileSize != st.Size() {
		t.Fatalf("pieces cover %d bytes, FileSize %d, file has %d", fileOff, p.info.FileSize, st.Size())
	}
	if got, want := h.Sum(nil), fileHash(t, path); !bytes.Equal(got, want) {
		t.Fatalf("Meta+Payload bytes do not rebuild %s", path)
	}
	sort.Slice(p.alloc, func(i, j int) bool { return p.alloc[i][0] < p.alloc[j][0] })
	for i, r := range p.alloc {
		if r[0] < 0 || r[1] > p.info.VirtualSize || (i > 0 && r[0] < p.alloc[i-1][1]) {
			t.Fatalf("virtual range %v overlaps or lies outside [0,%d)", r, p.info.VirtualSize)
		}
	}
	if err := o.Truncate(p.info.VirtualSize); err != nil {
		t.Fatal(err)
	}
	return p, nil
}

func mustParse(t *testing.T, path string, opts vhd.Options) *parsed {
	t.Helper()
	p, err := parseFile(t, path, opts)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return p
}

func fileHash(t *testing.T, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return h.Sum(nil)
}

// count returns how many pieces of kind k there are.
func (p *parsed) count(k vhd.Kind) int {
	n := 0
	for _, pc := range p.pieces {
		if pc.Kind == k {
			n++
		}
	}
	return n
}

// disk is a vhd.Disk over the rebuilt raw file; Allocated follows the
// non-Meta pieces that were not Zero.
type disk struct {
	f     *os.File
	size  int64
	alloc [][2]int64
}

func (p *parsed) disk(t *testing.T, pieces bool) *disk {
	f, err := os.Open(p.raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	d := &disk{f: f, size: p.info.VirtualSize}
	if pieces {
		for _, pc := range p.pieces {
			if pc.Kind == vhd.Payload || pc.Kind == vhd.Virtual {
				d.alloc = append(d.alloc, [2]int64{pc.VOff, pc.VOff + pc.Len})
			}
		}
	} else {
		d.alloc = [][2]int64{{0, d.size}}
	}
	return d
}

func (d *disk) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }
func (d *disk) Size() int64                             { return d.size }
func (d *disk) Allocated(off, n int64) bool {
	for _, r := range d.alloc {
		if r[0] < off+n && off < r[1] {
			return true
		}
	}
	return false
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	if !bytes.Equal(fileHash(t, a), fileHash(t, b)) {
		t.Fatalf("%s and %s differ", a, b)
	}
}
