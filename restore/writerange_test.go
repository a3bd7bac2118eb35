package restore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
	"github.com/shadowvault/shadowvault/vhd"
)

var allFormats = []restore.Format{restore.Raw, restore.Original, restore.VHD, restore.VHDX}

// memDisk is a vhd.Disk over a byte slice, allocated where it is not zero.
type memDisk []byte

func (m memDisk) Size() int64 { return int64(len(m)) }

func (m memDisk) ReadAt(p []byte, off int64) (int, error) {
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m memDisk) Allocated(off, n int64) bool {
	return bytes.ContainsFunc(m[off:off+n], func(r rune) bool { return r != 0 })
}

// rangeDisks backs up two disks: a raw one of 70 MiB (random data, text
// and holes: three VHDX blocks, some of them empty) and a VHDX container
// (so that its original file is headers, BAT and payload).
func rangeDisks(t *testing.T) (*repo.Repository, *repo.Manifest) {
	t.Helper()
	r := openRepo(t)
	raw := restoreDisk(70 << 20)
	clear(raw[32<<20 : 64<<20])
	inner := testDisk()
	var container bytes.Buffer
	if _, err := vhd.WriteVHDX(&container, memDisk(inner), vhd.ImageIDs{}); err != nil {
		t.Fatal(err)
	}
	return r, backUp(t, r, map[string][]byte{"d0.raw": raw, "d1.vhdx": container.Bytes()})
}

// TestWriteRangeIsWriteTo: in every format, ranges of the output written
// with WriteRange, in random order and lengths, put together the bytes
// WriteTo writes, and so do reads of Output; two Opens write the same
// bytes.
func TestWriteRangeIsWriteTo(t *testing.T) {
	r, m := rangeDisks(t)
	ctx := context.Background()
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, name := range []string{"d0.raw", "d1.vhdx"} {
		for _, f := range allFormats {
			d, err := restore.Open(ctx, r, m, name, f)
			if err != nil {
				t.Fatal(err)
			}
			var full bytes.Buffer
			if n, err := d.WriteTo(&full); err != nil || n != d.Size() || int64(full.Len()) != n {
				t.Fatalf("%s %v: WriteTo %d of %d bytes: %v", name, f, n, d.Size(), err)
			}
			again, err := restore.Open(ctx, r, m, name, f)
			if err != nil {
				t.Fatal(err)
			}
			var second bytes.Buffer
			if _, err := again.WriteTo(&second); err != nil || !bytes.Equal(full.Bytes(), second.Bytes()) {
				t.Fatalf("%s %v: a second Open writes other bytes (%v)", name, f, err)
			}
			assembled := make([]byte, d.Size())
			for _, rg := range partition(rng, d.Size()) {
				var out bytes.Buffer
				if n, err := d.WriteRange(&out, rg); err != nil || n != rg.Len || int64(out.Len()) != rg.Len {
					t.Fatalf("%s %v: range %v: %d bytes, %v", name, f, rg, n, err)
				}
				copy(assembled[rg.Off:], out.Bytes())
			}
			if !bytes.Equal(assembled, full.Bytes()) {
				t.Fatalf("%s %v: the ranges differ from WriteTo", name, f)
			}
			out := d.Output()
			for range 50 {
				off := rng.Int64N(d.Size())
				p := make([]byte, min(d.Size()-off, 1+rng.Int64N(6<<20)))
				if n, err := out.ReadAt(p, off); n != len(p) || (err != nil && err != io.EOF) {
					t.Fatalf("%s %v: Output ReadAt %d: %d, %v", name, f, off, n, err)
				}
				if !bytes.Equal(p, full.Bytes()[off:off+int64(len(p))]) {
					t.Fatalf("%s %v: Output ReadAt [%d,+%d) differs", name, f, off, len(p))
				}
			}
		}
	}
}

// partition cuts [0, size) into ranges of random lengths (a few bytes to
// 40 MiB, many of them short), in random order.
func partition(rng *mrand.Rand, size int64) []restore.Range {
	var rs []restore.Range
	for off := int64(0); off < size; {
		n := 1 + rng.Int64N(1<<20)
		switch rng.IntN(4) {
		case 0:
			n = 1 + rng.Int64N(600)
		case 1:
			n = 1 + rng.Int64N(40<<20)
		}
		n = min(n, size-off)
		rs = append(rs, restore.Range{Off: off, Len: n})
		off += n
	}
	rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	return rs
}

// TestETag: the entity tag is quoted, the same for two Opens of a disk in
// a format, and different for another format, disk or snapshot.
func TestETag(t *testing.T) {
	r, m := rangeDisks(t)
	m2 := backUp(t, r, map[string][]byte{"d0.raw": testDisk()})
	ctx := context.Background()
	seen := map[string]string{}
	for _, snap := range []*repo.Manifest{m, m2} {
		for _, name := range []string{"d0.raw", "d1.vhdx"} {
			if _, ok := snap.Disk(name); !ok {
				continue
			}
			for _, f := range allFormats {
				what := snap.ID + " " + name + " " + f.String()
				a, err := restore.Open(ctx, r, snap, name, f)
				if err != nil {
					t.Fatal(err)
				}
				b, err := restore.Open(ctx, r, snap, name, f)
				if err != nil {
					t.Fatal(err)
				}
				tag := a.ETag()
				if tag != b.ETag() || len(tag) < 3 || !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) {
					t.Fatalf("%s: ETags %s and %s", what, tag, b.ETag())
				}
				if other, dup := seen[tag]; dup {
					t.Fatalf("%s has the ETag of %s", what, other)
				}
				seen[tag] = what
			}
		}
	}
}

// TestWriteRangeBounds: a range outside the output is ErrBadRange, an
// empty one writes nothing.
func TestWriteRangeBounds(t *testing.T) {
	r, m := rangeDisks(t)
	for _, f := range allFormats {
		d, err := restore.Open(context.Background(), r, m, "d1.vhdx", f)
		if err != nil {
			t.Fatal(err)
		}
		for _, rg := range []restore.Range{{Off: -1, Len: 2}, {Off: d.Size() - 1, Len: 2}, {Off: 0, Len: -1}, {Off: d.Size() + 1, Len: 0}} {
			if _, err := d.WriteRange(io.Discard, rg); !errors.Is(err, restore.ErrBadRange) {
				t.Errorf("%v: range %v: %v, want ErrBadRange", f, rg, err)
			}
		}
		if n, err := d.WriteRange(io.Discard, restore.Range{Off: d.Size(), Len: 0}); n != 0 || err != nil {
			t.Errorf("%v: empty range at the end: %d, %v", f, n, err)
		}
	}
}
