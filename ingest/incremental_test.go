package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/textproto"
	"testing"

	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/vhd"
)

// memBase is a base disk held in memory, with the extents of its ingest.
type memBase struct {
	data []byte
	ext  []diskmap.Extent
}

func (b *memBase) Size() int64                { return int64(len(b.data)) }
func (b *memBase) Reusable() []diskmap.Extent { return b.ext }
func (b *memBase) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := copy(p, b.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// change is one part of an incremental upload.
type change struct {
	off  int64
	data []byte
}

// byteranges encodes changes as a multipart/byteranges body.
func byteranges(t *testing.T, size int64, cs []change) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, c := range cs {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", c.off, c.off+int64(len(c.data))-1, size))
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(c.data)
	}
	mw.Close()
	if len(cs) == 0 {
		return nil, mw.Boundary()
	}
	return buf.Bytes(), mw.Boundary()
}

// applyChanges returns base resized to size with the changes written over.
func applyChanges(base []byte, size int64, cs []change) []byte {
	out := make([]byte, size)
	copy(out, base)
	for _, c := range cs {
		copy(out[c.off:], c.data)
	}
	return out
}

// ingestRaw ingests raw content and returns the result as a base.
func ingestRaw(t *testing.T, m *memSaver, data []byte) (*Result, *memBase) {
	t.Helper()
	res, err := Disk(context.Background(), bytes.NewReader(data), m, Options{Params: testParams, Format: vhd.FormatRaw})
	if err != nil {
		t.Fatal(err)
	}
	return res, &memBase{data: data, ext: res.Map.Extents}
}

// baseContent is 24 MiB of random data, text and zero runs.
func baseContent(seed uint64) []byte {
	rng := mrand.New(mrand.NewPCG(seed, 1))
	d := make([]byte, 24<<20)
	for off := 0; off < len(d); {
		n := min(len(d)-off, 256<<10+rng.IntN(2<<20))
		switch rng.IntN(4) {
		case 0, 1:
			for i := off; i < off+n; i += 8 {
				v := rng.Uint64()
				for k := 0; k < 8 && i+k < off+n; k++ {
					d[i+k] = byte(v >> (8 * k))
				}
			}
		case 2:
			for i := off; i < off+n; {
				i += copy(d[i:off+n], fmt.Sprintf("line %d of a log the guest wrote; ", rng.IntN(1e6)))
			}
		}
		off += n
	}
	return d
}

// TestIncrementalMatchesFullIngest is the property the design rests on:
// whatever the changes and the new size, an incremental disk holds the new
// content, and each of its chunks is either the base's (reused, unread) or
// one a full upload of the new content makes when told to cut where the
// base's chunks end (the base's extent boundaries are forced cuts of an
// incremental, as a guest's file boundaries are of a full upload).
func TestIncrementalMatchesFullIngest(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := mrand.New(mrand.NewPCG(seed, 2))
			m := &memSaver{}
			baseData := baseContent(seed)
			_, base := ingestRaw(t, m, baseData)
			size := int64(len(baseData))
			switch seed % 4 {
			case 1:
				size += int64(rng.IntN(4<<20)) &^ 511 // grow
			case 2:
				size -= int64(rng.IntN(4<<20)) &^ 511 // shrink
			}
			var cs []change
			pos := int64(0)
			for k := rng.IntN(8); k > 0 && pos < size; k-- {
				off := pos + int64(rng.IntN(int(min(size-pos, 6<<20))))
				n := min(size-off, 1+int64(rng.IntN(300<<10)))
				data := make([]byte, n)
				switch rng.IntN(3) {
				case 0: // zeroes data
				case 1:
					for i := range data {
						data[i] = byte(rng.Uint32())
					}
				default:
					copy(data, baseData[min(int64(len(baseData))-n, int64(rng.IntN(len(baseData)))):])
				}
				cs = append(cs, change{off, data})
				pos = off + n + int64(rng.IntN(1<<20))
			}
			if len(cs) == 0 {
				size = int64(len(baseData)) // an empty body keeps the size
			}
			if seed == 5 { // first and last sector
				cs = []change{{0, bytes.Repeat([]byte{1}, 512)}, {size - 512, bytes.Repeat([]byte{2}, 512)}}
			}
			body, boundary := byteranges(t, size, cs)
			before := m.stored
			res, err := Incremental(context.Background(), base, bytes.NewReader(body), boundary, m, Options{Params: testParams})
			if err != nil {
				t.Fatal(err)
			}
			want := applyChanges(baseData, size, cs)
			if got := rebuild(t, m, res); !bytes.Equal(got, want) {
				t.Fatalf("incremental content differs (%d changes, size %d)", len(cs), size)
			}
			newBytes := m.stored - before
			// A full upload that cuts where the base's chunks end (as a
			// guest's file boundaries would make it cut).
			var cuts []int64
			for _, e := range base.ext {
				if end := e.Offset + e.Length; end <= size {
					cuts = append(cuts, e.Offset, end)
				}
			}
			hints := &diskmap.Hints{Cuts: cuts}
			full, err := Disk(context.Background(), bytes.NewReader(want), &memSaver{}, Options{Params: testParams, Format: vhd.FormatRaw, Hints: hints})
			if err != nil {
				t.Fatal(err)
			}
			known := map[diskmap.Extent]bool{}
			for _, e := range full.Map.Extents {
				known[e] = true
			}
			for _, e := range base.ext {
				known[e] = true
			}
			for _, e := range res.Map.Extents {
				if !known[e] && e.Kind == diskmap.ExtentData {
					t.Fatalf("chunk %v+%v is neither the base's nor one a full upload cutting at the base's boundaries makes", e.Offset, e.Length)
				}
			}
			var changed int64
			for _, c := range cs {
				changed += int64(len(c.data))
			}
			if res.Changed != changed {
				t.Fatalf("changed %d, want %d", res.Changed, changed)
			}
			// New chunks cover the changes plus a few chunks around each.
			if limit := changed + int64(len(cs)+1)*3<<20; int64(newBytes) > limit {
				t.Fatalf("stored %d new bytes for %d changed", newBytes, changed)
			}
			t.Logf("%d changes, %d bytes changed, %d new chunk bytes", len(cs), changed, newBytes)
		})
	}
}

func TestIncrementalUnchanged(t *testing.T) {
	m := &memSaver{}
	baseData := baseContent(3)
	first, base := ingestRaw(t, m, baseData)
	reads := &countingBase{memBase: base}
	res, err := Incremental(context.Background(), reads, bytes.NewReader(nil), "x", m, Options{Params: testParams})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Map.Extents) != fmt.Sprint(first.Map.Extents) || res.Map.VirtualSize != first.Map.VirtualSize {
		t.Fatal("an empty body must give the base's map")
	}
	if reads.n != 0 || res.Chunks != 0 {
		t.Fatalf("unchanged disk read %d bytes of the base and cut %d chunks", reads.n, res.Chunks)
	}
}

type countingBase struct {
	*memBase
	n int64
}

func (c *countingBase) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	n, err := c.memBase.ReadAtContext(ctx, p, off)
	c.n += int64(n)
	return n, err
}

func TestIncrementalRejects(t *testing.T) {
	m := &memSaver{}
	_, base := ingestRaw(t, m, baseContent(4))
	size := base.Size()
	part := func(h string, n int) []byte { return []byte(h + "\r\n\r\n" + string(make([]byte, n)) + "\r\n") }
	cases := map[string]struct {
		body []byte
		want error
	}{
		"out of order": {body: multi(part("Content-Range: bytes 4096-4607/"+fmt.Sprint(size), 512), part("Content-Range: bytes 0-511/"+fmt.Sprint(size), 512)), want: ErrBadRanges},
		"overlapping":  {body: multi(part("Content-Range: bytes 0-1023/"+fmt.Sprint(size), 1024), part("Content-Range: bytes 512-1023/"+fmt.Sprint(size), 512)), want: ErrBadRanges},
		"sizes differ": {body: multi(part("Content-Range: bytes 0-511/"+fmt.Sprint(size), 512), part("Content-Range: bytes 1024-1535/"+fmt.Sprint(size+512), 512)), want: ErrBadRanges},
		"beyond size":  {body: multi(part("Content-Range: bytes 0-1023/512", 1024)), want: ErrBadRanges},
		"no range":     {body: multi(part("Content-Type: text/plain", 10)), want: ErrBadRanges},
		"short part":   {body: multi(part("Content-Range: bytes 0-1023/"+fmt.Sprint(size), 1000)), want: ErrBadRanges},
		"long part":    {body: multi(part("Content-Range: bytes 0-1023/"+fmt.Sprint(size), 1100)), want: ErrBadRanges},
		"zero size":    {body: multi(part("Content-Range: bytes 0-0/0", 1)), want: ErrBadRanges},
		"cut short":    {body: []byte("--B\r\nContent-Range: bytes 0-1048575/" + fmt.Sprint(size) + "\r\n\r\n" + string(make([]byte, 1000))), want: ErrTruncatedBody},
		"garbage":      {body: []byte("this is not a multipart body"), want: ErrBadRanges},
	}
	for name, c := range cases {
		_, err := Incremental(context.Background(), base, bytes.NewReader(c.body), "B", m, Options{Params: testParams})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// multi joins raw parts into a body with boundary B.
func multi(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, "--B\r\n"...)
		b = append(b, p...)
	}
	return append(b, "--B--\r\n"...)
}

// TestIncrementalManyParts: a body of tens of thousands of tiny parts
// gives the right content.
func TestIncrementalManyParts(t *testing.T) {
	m := &memSaver{}
	baseData := baseContent(6)
	_, base := ingestRaw(t, m, baseData)
	var cs []change
	for off := int64(4096); off < int64(len(baseData))-4096; off += 997 {
		cs = append(cs, change{off, []byte{byte(off), byte(off >> 8)}})
	}
	body, boundary := byteranges(t, int64(len(baseData)), cs)
	res, err := Incremental(context.Background(), base, bytes.NewReader(body), boundary, m, Options{Params: testParams})
	if err != nil {
		t.Fatal(err)
	}
	if got := rebuild(t, m, res); !bytes.Equal(got, applyChanges(baseData, int64(len(baseData)), cs)) {
		t.Fatalf("%d tiny parts: content differs", len(cs))
	}
	if res.Changed != int64(2*len(cs)) {
		t.Fatalf("changed %d, want %d", res.Changed, 2*len(cs))
	}
}

// TestIncrementalGrowth: a disk grown with its only parts past the base's
// end (the new space written, or just the last byte to name the size).
func TestIncrementalGrowth(t *testing.T) {
	m := &memSaver{}
	baseData := baseContent(8)
	_, base := ingestRaw(t, m, baseData)
	bsize := int64(len(baseData))
	for name, cs := range map[string][]change{
		"new space":      {{bsize + 4096, bytes.Repeat([]byte{9}, 300<<10)}},
		"last byte":      {{bsize + 4<<20 - 1, []byte{0}}},
		"across the end": {{bsize - 1000, bytes.Repeat([]byte{7}, 5000)}},
	} {
		size := bsize + 4<<20
		body, boundary := byteranges(t, size, cs)
		res, err := Incremental(context.Background(), base, bytes.NewReader(body), boundary, m, Options{Params: testParams})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := rebuild(t, m, res); !bytes.Equal(got, applyChanges(baseData, size, cs)) {
			t.Fatalf("%s: content differs", name)
		}
	}
}
