package guestfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// limitWriter fails once more than n bytes were written, so that a
// corrupt file claiming petabytes of sparse zeros cannot stall a test.
type limitWriter struct{ n int64 }

var errTooMuch = errors.New("limitWriter: too much output")

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.n -= int64(len(p)); w.n < 0 {
		return 0, errTooMuch
	}
	return len(p), nil
}

// exercise runs every public operation on a disk and returns the errors.
func exercise(r io.ReaderAt, size int64) []error {
	var errs []error
	note := func(err error) {
		if err != nil && !errors.Is(err, errTooMuch) {
			errs = append(errs, err)
		}
	}
	parts, err := Partitions(r, size)
	note(err)
	if len(parts) == 0 {
		parts = []Partition{{Index: 1, Type: "ntfs", Offset: 0, Size: size}}
	}
	ctx := context.Background()
	for _, p := range parts[:min(len(parts), 4)] {
		fs, err := OpenNTFS(context.Background(), r, p)
		note(err)
		if err != nil {
			continue
		}
		entries, err := fs.List(context.Background(), "/")
		note(err)
		for _, e := range entries[:min(len(entries), 16)] {
			_, err := fs.Stat(context.Background(), "/"+e.Name)
			note(err)
			if e.Dir {
				_, err = fs.List(context.Background(), "/"+e.Name)
			} else {
				_, err = fs.Cat(ctx, "/"+e.Name, &limitWriter{n: 64 << 20})
			}
			note(err)
		}
		_, err = fs.Cat(ctx, "/$Extend/deep.bin", &limitWriter{n: 64 << 20})
		note(err)
		_, err = fs.Layout(ctx)
		note(err)
		note(fs.Close())
	}
	return errs
}

func imageAndMFT(t testing.TB) ([]byte, int64) {
	t.Helper()
	img := readFile(t, mkPart(t, 8, testFiles()))
	boot, err := parseBoot(img[:512], int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	return img, boot.mftLCN * boot.clusterSize
}

func TestCorruptMFT(t *testing.T) {
	needTools(t)
	base, mftOff := imageAndMFT(t)
	before := recovered.Load()
	var m0, m1 runtime.MemStats
	for seed := range uint64(60) {
		img := bytes.Clone(base)
		rng := rand.New(rand.NewPCG(seed, 8))
		flips := 1 + int(seed)*40 // from one byte to thousands
		for range flips {
			img[mftOff+rng.Int64N(64<<10)] = byte(rng.Uint32())
		}
		runtime.ReadMemStats(&m0)
		errs := exercise(bytes.NewReader(img), int64(len(img)))
		runtime.ReadMemStats(&m1)
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 512<<20 {
			t.Errorf("seed %d: allocated %d MiB", seed, alloc>>20)
		}
		for _, err := range errs {
			if !isFSError(err) {
				t.Errorf("seed %d: error %v is not a filesystem error", seed, err)
			}
		}
		if testing.Verbose() && len(errs) > 0 {
			t.Logf("seed %d flips %d: %d errors, first %v", seed, flips, len(errs), errs[0])
		}
		if flips > 1000 && len(errs) == 0 {
			t.Errorf("seed %d: %d bytes flipped in the MFT and no error", seed, flips)
		}
	}
	t.Logf("go-ntfs panics recovered: %d", recovered.Load()-before)
}

func TestCorruptTargeted(t *testing.T) {
	needTools(t)
	base, mftOff := imageAndMFT(t)
	const rs = 1024
	tests := []struct {
		name string
		mut  func(img []byte)
		op   func(fs *FS) error
	}{
		{"root record zeroed", func(img []byte) { clear(img[mftOff+5*rs : mftOff+6*rs]) }, nil},
		{"root record fixup", func(img []byte) { img[mftOff+5*rs+510] ^= 0xff }, nil},
		{"$MFT record zeroed", func(img []byte) { clear(img[mftOff : mftOff+rs]) }, nil},
		{"boot sector cluster size", func(img []byte) { img[13] = 3 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := bytes.Clone(base)
			tt.mut(img)
			_, err := OpenNTFS(context.Background(), bytes.NewReader(img), Partition{Index: 1, Size: int64(len(img))})
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("OpenNTFS: %v, want ErrCorrupt or ErrUnsupported", err)
			}
		})
	}
}

// failReader fails reads that touch [from, to).
type failReader struct {
	r        io.ReaderAt
	from, to int64
}

var errDisk = errors.New("disk read failed")

func (f failReader) ReadAt(p []byte, off int64) (int, error) {
	if off < f.to && off+int64(len(p)) > f.from {
		return 0, fmt.Errorf("chunk at %d: %w", off, errDisk)
	}
	return f.r.ReadAt(p, off)
}

func TestIOErrorsAreNotCorruption(t *testing.T) {
	needTools(t)
	base, mftOff := imageAndMFT(t)
	size := int64(len(base))
	_, err := OpenNTFS(context.Background(), failReader{bytes.NewReader(base), mftOff, mftOff + 1}, Partition{Index: 1, Size: size})
	if !errors.Is(err, errDisk) || errors.Is(err, ErrCorrupt) {
		t.Errorf("OpenNTFS with the MFT unreadable: %v, want the disk error", err)
	}
	fs, err := OpenNTFS(context.Background(), bytes.NewReader(base), Partition{Index: 1, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	var runs []diskmap.Range
	if err := fs.do(context.Background(), "runs", func() error {
		rec, _, err := fs.resolve("/big.bin")
		if err != nil {
			return err
		}
		s, err := fs.openStream(rec, attrData, "")
		for _, e := range s.runs {
			r, _ := fs.diskRange(e)
			runs = append(runs, r)
		}
		return err
	}); err != nil || len(runs) == 0 {
		t.Fatal(err)
	}
	bad := runs[len(runs)-1].End() - 4096
	fs, err = OpenNTFS(context.Background(), failReader{bytes.NewReader(base), bad, bad + 1}, Partition{Index: 1, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Cat(context.Background(), "/big.bin", io.Discard); !errors.Is(err, errDisk) {
		t.Errorf("Cat over an unreadable cluster: %v, want the disk error", err)
	}
}

func FuzzNTFS(f *testing.F) {
	needTools(f)
	base, mftOff := imageAndMFT(f)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0xff})
	f.Add([]byte{0x15, 0x14, 0, 0, 0, 0x02, 0x80, 0, 0, 0x7f})
	f.Fuzz(func(t *testing.T, muts []byte) {
		r := &patched{base: base, patch: map[int64]byte{}}
		for ; len(muts) >= 5; muts = muts[5:] {
			sel := int64(muts[0]) | int64(muts[1])<<8 | int64(muts[2])<<16 | int64(muts[3])<<24
			var off int64
			switch sel & 3 {
			case 0: // anywhere
				off = (sel >> 2) % int64(len(base))
			case 1: // the boot sector
				off = (sel >> 2) % 512
			default: // the first 64 MFT records
				off = mftOff + (sel>>2)%(64<<10)
			}
			r.patch[off] = muts[4]
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := time.Now()
		for _, err := range exercise(r, int64(len(base))) {
			if !isFSError(err) {
				t.Errorf("error %v is not a filesystem error", err)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		runtime.ReadMemStats(&m1)
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 512<<20 {
			t.Errorf("allocated %d MiB", alloc>>20)
		}
	})
}

// patched reads base with some bytes replaced.
type patched struct {
	base  []byte
	patch map[int64]byte
}

func (p *patched) ReadAt(b []byte, off int64) (int, error) {
	n, err := bytes.NewReader(p.base).ReadAt(b, off)
	for o, v := range p.patch {
		if o >= off && o < off+int64(n) {
			b[o-off] = v
		}
	}
	return n, err
}

func TestGuardRecovers(t *testing.T) {
	before := recovered.Load()
	err := guard("test", func() error {
		var b []byte
		_ = b[7] // what go-ntfs does on a short buffer
		return nil
	})
	if !errors.Is(err, ErrCorrupt) || recovered.Load() != before+1 {
		t.Fatalf("guard: %v, want ErrCorrupt", err)
	}
}
