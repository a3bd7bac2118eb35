package vhd_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// patternDisk is a vhd.Disk of size bytes whose data extents hold a
// pattern that never repeats at a block distance, and which is zero
// elsewhere.
type patternDisk struct {
	size int64
	data [][2]int64 // [from, to), sorted
}

var pattern = func() []byte {
	b := make([]byte, 1<<20+7)
	mrand.NewChaCha8([32]byte{3}).Read(b)
	return b
}()

func (d *patternDisk) Size() int64 { return d.size }

func (d *patternDisk) Allocated(off, n int64) bool {
	for _, r := range d.data {
		if r[0] < off+n && off < r[1] {
			return true
		}
	}
	return false
}

func (d *patternDisk) ReadAt(p []byte, off int64) (int, error) {
	n := min(int64(len(p)), d.size-off)
	if n <= 0 {
		return 0, io.EOF
	}
	clear(p[:n])
	for _, r := range d.data {
		for x := max(off, r[0]); x < min(off+n, r[1]); {
			x += int64(copy(p[x-off:min(off+n, r[1])-off], pattern[x%int64(len(pattern)):]))
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// writeRaw writes the disk's content as a sparse raw file.
func (d *patternDisk) writeRaw(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(d.size); err != nil {
		t.Fatal(err)
	}
	for _, r := range d.data {
		b := make([]byte, r[1]-r[0])
		d.ReadAt(b, r[0])
		if _, err := f.WriteAt(b, r[0]); err != nil {
			t.Fatal(err)
		}
	}
}

const mib = 1 << 20

// outputShapes are disks of several shapes: empty, sparse, full, sizes
// that are not a multiple of the block size or of 512, and a VHDX BAT of
// more than one chunk (data past 4 GiB).
var outputShapes = map[string]*patternDisk{
	"empty":    {size: 64*mib + 3},
	"sparse":   {size: 100 * mib, data: [][2]int64{{mib, mib + 4096}, {40 * mib, 45 * mib}, {99 * mib, 100 * mib}}},
	"full":     {size: 70 * mib, data: [][2]int64{{0, 70 * mib}}},
	"odd":      {size: 70*mib + 1000, data: [][2]int64{{0, 10}, {69 * mib, 70*mib + 1000}}},
	"chunks":   {size: 5 << 30, data: [][2]int64{{0, mib}, {4<<30 + 40*mib, 4<<30 + 41*mib}}},
	"one-byte": {size: 1, data: [][2]int64{{0, 1}}},
}

type outputFormat struct {
	ext   string
	new   func(vhd.Disk, vhd.ImageIDs) (*vhd.Output, error)
	write func(io.Writer, vhd.Disk, vhd.ImageIDs) (int64, error)
	size  func(vhd.Disk) int64
}

var outputFormats = []outputFormat{
	{".vhd", vhd.NewVHDOutput, vhd.WriteVHD, vhd.VHDSize},
	{".vhdx", vhd.NewVHDXOutput, vhd.WriteVHDX, vhd.VHDXSize},
}

var testIDs = vhd.DeriveIDs([]byte("test disk"), time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))

// TestOutputReadAtIsTheStream: for every shape, the Output's ReadAt over
// random ranges gives the bytes WriteVHD and WriteVHDX stream with the
// same ids; a file put together from ReadAt ranges passes qemu-img check
// (VHDX) and compares equal to the raw content; the same ids give the
// same bytes again, other ids other bytes.
func TestOutputReadAtIsTheStream(t *testing.T) {
	for name, d := range outputShapes {
		for _, f := range outputFormats {
			t.Run(name+f.ext, func(t *testing.T) {
				dir := t.TempDir()
				stream := filepath.Join(dir, "stream"+f.ext)
				sf, err := os.Create(stream)
				if err != nil {
					t.Fatal(err)
				}
				defer sf.Close()
				n, err := f.write(sf, d, testIDs)
				if err != nil {
					t.Fatal(err)
				}
				o, err := f.new(d, testIDs)
				if err != nil {
					t.Fatal(err)
				}
				if n != o.Size() || n != f.size(d) {
					t.Fatalf("streamed %d bytes, Size %d, size function %d", n, o.Size(), f.size(d))
				}
				rng := mrand.New(mrand.NewPCG(uint64(n), 1))
				for range 100 {
					checkRange(t, o, sf, randomRange(rng, n))
				}
				for _, off := range []int64{0, n - 1, n - 512, 1 * mib, 3*mib - 1} {
					off = max(0, min(n-1, off))
					checkRange(t, o, sf, [2]int64{off, min(n, off+1024)})
				}
				got := filepath.Join(dir, "assembled"+f.ext)
				assemble(t, o, got, rng)
				sameFile(t, stream, got)
				if f.ext == ".vhdx" {
					vhdtest.QemuImg(t, "check", got)
				}
				if d.size < 1<<30 { // qemu-img compare reads every byte
					raw := filepath.Join(dir, "content.raw")
					d.writeRaw(t, raw)
					vhdtest.Compare(t, raw, got)
				}
				checkMapped(t, d, got)

				again, err := f.new(d, testIDs)
				if err != nil {
					t.Fatal(err)
				}
				other, err := f.new(d, vhd.DeriveIDs([]byte("another disk"), time.Now()))
				if err != nil {
					t.Fatal(err)
				}
				if a, b, c := hashOf(t, o), hashOf(t, again), hashOf(t, other); a != b || a == c {
					t.Fatalf("same ids: hashes %x, %x; other ids: %x", a, b, c)
				}
			})
		}
	}
}

// randomRange picks a range of an n byte file: mostly short ones near
// the metadata and block boundaries, some long ones.
func randomRange(rng *mrand.Rand, n int64) [2]int64 {
	var off int64
	switch rng.IntN(3) {
	case 0:
		off = rng.Int64N(n)
	case 1:
		off = min(n-1, rng.Int64N(8*mib))
	default:
		off = max(0, min(n-1, rng.Int64N(n/mib+1)*mib+rng.Int64N(1024)-512))
	}
	l := 1 + rng.Int64N(64<<10)
	if rng.IntN(16) == 0 {
		l = 1 + rng.Int64N(40*mib)
	}
	return [2]int64{off, min(n, off+l)}
}

// checkRange compares ReadAt of r against the streamed file.
func checkRange(t *testing.T, o *vhd.Output, stream *os.File, r [2]int64) {
	t.Helper()
	got, want := make([]byte, r[1]-r[0]), make([]byte, r[1]-r[0])
	if k, err := o.ReadAt(got, r[0]); k != len(got) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt %v: %d bytes, %v", r, k, err)
	}
	if _, err := stream.ReadAt(want, r[0]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadAt %v differs from the stream", r)
	}
}

// assemble writes the file at path from ReadAt of consecutive ranges of
// random lengths, taken in random order.
func assemble(t *testing.T, o *vhd.Output, path string, rng *mrand.Rand) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ranges [][2]int64
	for off := int64(0); off < o.Size(); {
		end := min(o.Size(), off+1+rng.Int64N(5*mib))
		ranges = append(ranges, [2]int64{off, end})
		off = end
	}
	rng.Shuffle(len(ranges), func(i, j int) { ranges[i], ranges[j] = ranges[j], ranges[i] })
	for _, r := range ranges {
		b := make([]byte, r[1]-r[0])
		if _, err := o.ReadAt(b, r[0]); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(b, r[0]); err != nil {
			t.Fatal(err)
		}
	}
}

// checkMapped opens the file at path with vhd.OpenImage and compares its
// data extents with the disk's.
func checkMapped(t *testing.T, d *patternDisk, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := vhd.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	if img.Size() != roundUp512(d.size) {
		t.Fatalf("virtual size %d, want %d", img.Size(), roundUp512(d.size))
	}
	for _, r := range d.data {
		got, want := make([]byte, r[1]-r[0]), make([]byte, r[1]-r[0])
		d.ReadAt(want, r[0])
		if _, err := img.ReadAt(got, r[0]); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("data %v differs", r)
		}
	}
}

func hashOf(t *testing.T, o *vhd.Output) [32]byte {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(o, 0, o.Size())); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// TestOutputEdges: reads at and past the end, negative offsets, Parts out
// of range, and the errors of disks with no VHD or VHDX.
func TestOutputEdges(t *testing.T) {
	d := outputShapes["odd"]
	o, err := vhd.NewVHDXOutput(d, testIDs)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 20)
	if k, err := o.ReadAt(p, o.Size()-10); k != 10 || err != io.EOF {
		t.Fatalf("ReadAt across the end: %d, %v", k, err)
	}
	if k, err := o.ReadAt(p, o.Size()); k != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end: %d, %v", k, err)
	}
	if _, err := o.ReadAt(p, -1); err == nil {
		t.Fatal("ReadAt at -1: no error")
	}
	if err := o.Parts(o.Size()-1, 2, func(vhd.Part) error { return nil }); err == nil {
		t.Fatal("Parts past the end: no error")
	}
	if _, err := vhd.NewVHDXOutput(&patternDisk{}, testIDs); err == nil {
		t.Fatal("VHDX of an empty disk: no error")
	} else {
		wantErr(t, err, vhd.ErrEmptyDisk)
	}
	_, err = vhd.NewVHDOutput(&patternDisk{size: 2041 << 30}, testIDs)
	wantErr(t, err, vhd.ErrUnsupported)
	if vhd.VHDSize(&patternDisk{size: 2041 << 30}) != -1 {
		t.Fatal("VHDSize of a disk too large for a VHD")
	}
}

// TestDeriveIDs: equal keys give equal ids, other keys other ids; the
// GUIDs are version 4.
func TestDeriveIDs(t *testing.T) {
	at := time.Unix(1e9, 0)
	a, b, c := vhd.DeriveIDs([]byte("k"), at), vhd.DeriveIDs([]byte("k"), at), vhd.DeriveIDs([]byte("l"), at)
	if a != b || a.Disk == c.Disk || a.FileWrite == c.FileWrite || a.DataWrite == c.DataWrite {
		t.Fatalf("ids %+v, %+v, %+v", a, b, c)
	}
	for _, g := range [][16]byte{a.Disk, a.FileWrite, a.DataWrite} {
		if g[7]>>4 != 4 || g[8]>>6 != 2 {
			t.Fatalf("guid % x: not version 4", g)
		}
	}
	if a.Disk == a.FileWrite || a.FileWrite == a.DataWrite {
		t.Fatal("the three GUIDs are not distinct")
	}
}
