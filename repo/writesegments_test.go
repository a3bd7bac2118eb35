package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// TestWriteSegmentsLayouts restores fixtures of every data kind and pack
// layout and compares them byte for byte, and checks that the reads are
// coalesced: about one per maxReadSpan of stored bytes, whatever the
// order of the chunks in their packs.
func TestWriteSegmentsLayouts(t *testing.T) {
	for _, d := range []fixtureData{randomData, textData, mixedData} {
		for _, l := range []packLayout{inOrder, swapped, interleaved} {
			t.Run(d.String()+"/"+l.String(), func(t *testing.T) {
				f := newRestoreFixture(t, 48<<20, d, l, false, Options{})
				var out bytes.Buffer
				n, err := f.r.WriteSegments(context.Background(), &out, f.gen)
				if err != nil || n != int64(len(f.want)) {
					t.Fatalf("WriteSegments: %d bytes, %v; want %d", n, err, len(f.want))
				}
				if !bytes.Equal(out.Bytes(), f.want) {
					t.Fatal("restored bytes differ")
				}
				reads, read := f.be.reads.Load(), f.be.bytes.Load()
				// Windows cut reads too: allow one per window and per pack
				// boundary on top of one per maxReadSpan.
				limit := read/maxReadSpan + int64(len(f.want))/windowData*3 + 8
				t.Logf("%d reads, %.1f MiB read for %.1f MiB of output", reads, float64(read)/(1<<20), float64(n)/(1<<20))
				if reads > limit {
					t.Errorf("%d reads of %d bytes: want at most %d", reads, read, limit)
				}
			})
		}
	}
}

// TestWriteSegmentsPieces restores parts of chunks, chunks repeated within
// a window and runs of zeros, through writers that take a few bytes at a
// time.
func TestWriteSegmentsPieces(t *testing.T) {
	f := newRestoreFixture(t, 24<<20, mixedData, swapped, true, Options{})
	// Cut every segment in three and repeat some in place.
	var segs []diskmap.Segment
	var want []byte
	for i, s := range f.segs {
		third := s.N / 3
		parts := []diskmap.Segment{{ID: s.ID, Skip: s.Skip, N: third}, {ID: s.ID, Skip: s.Skip + third, N: third}, {ID: s.ID, Skip: s.Skip + 2*third, N: s.N - 2*third}}
		if i%7 == 0 {
			parts = append(parts, parts[1])
		}
		for _, p := range parts {
			segs = append(segs, p)
			if p.Zero() {
				want = append(want, make([]byte, p.N)...)
			} else {
				want = append(want, f.want[segOff(f.segs, i)+p.Skip-s.Skip:][:p.N]...)
			}
		}
	}
	gen := func(emit diskmap.Emit) error {
		for _, s := range segs {
			if err := emit(s); err != nil {
				return err
			}
		}
		return nil
	}
	var out bytes.Buffer
	n, err := f.r.WriteSegments(context.Background(), &smallWriter{w: &out, max: 4093}, gen)
	if err != nil || n != int64(len(want)) || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("WriteSegments: %d bytes, %v; want %d, identical %v", n, err, len(want), bytes.Equal(out.Bytes(), want))
	}
}

// segOff is where segment i starts in the output of segs.
func segOff(segs []diskmap.Segment, i int) int64 {
	var off int64
	for _, s := range segs[:i] {
		off += s.N
	}
	return off
}

// smallWriter writes at most max bytes per call to w, in a loop.
type smallWriter struct {
	w   io.Writer
	max int
}

func (s *smallWriter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := s.w.Write(p[done:min(len(p), done+s.max)])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// TestWriteSegmentsBoundedMemory restores through a slow writer and checks
// that the buffers held never exceed the budget, and are all given back.
func TestWriteSegmentsBoundedMemory(t *testing.T) {
	f := newRestoreFixture(t, 160<<20, mixedData, interleaved, false, Options{RestoreParallel: 16})
	base := bufInUse.Load()
	var peak atomic.Int64
	slow := writerFunc(func(p []byte) (int, error) {
		peak.Store(max(peak.Load(), bufInUse.Load()-base))
		time.Sleep(50 * time.Microsecond)
		return len(p), nil
	})
	n, err := f.r.WriteSegments(context.Background(), slow, f.gen)
	if err != nil || n != int64(len(f.want)) {
		t.Fatalf("WriteSegments: %d bytes, %v", n, err)
	}
	t.Logf("peak %.1f MiB of buffers for %.0f MiB", float64(peak.Load())/(1<<20), float64(n)/(1<<20))
	if peak.Load() > restoreBudget {
		t.Errorf("held %d bytes of buffers, budget %d", peak.Load(), restoreBudget)
	}
	if peak.Load() < windowData {
		t.Errorf("held at most %d bytes: the restore did not read ahead", peak.Load())
	}
	if left := bufInUse.Load() - base; left != 0 {
		t.Errorf("%d bytes of buffers not given back", left)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestWriteSegmentsFailures: a damaged chunk, a missing chunk, a failing
// writer and a cancelled context each end the restore with their error,
// after the bytes before them, and leave no goroutine or buffer behind.
func TestWriteSegmentsFailures(t *testing.T) {
	f := newRestoreFixture(t, 64<<20, mixedData, swapped, false, Options{})
	ctx := context.Background()
	base := bufInUse.Load()
	goroutines := runtime.NumGoroutine()
	// The chunk of the middle data segment.
	mid := len(f.segs) / 2
	for f.segs[mid].Zero() {
		mid++
	}
	for i := range f.segs[:mid] {
		if f.segs[i].ID == f.segs[mid].ID {
			mid = i // its first use
			break
		}
	}
	midOff := segOff(f.segs, mid)

	t.Run("damaged", func(t *testing.T) {
		loc, _, _ := f.r.idx.Lookup(f.segs[mid].ID)
		h := packHandle(loc.Pack)
		full, _ := f.be.Backend.Stat(ctx, h)
		data := make([]byte, full.Size)
		if _, err := f.be.Backend.ReadAt(ctx, h, data, 0); err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(data)
		bad[loc.Entry.Offset+uint64(loc.Entry.Length)/2] ^= 1
		put := func(b []byte) {
			if err := f.be.Backend.Put(ctx, h, bytes.NewReader(b), int64(len(b))); err != nil {
				t.Fatal(err)
			}
		}
		put(bad)
		defer put(data)
		var out bytes.Buffer
		n, err := f.r.WriteSegments(ctx, &out, f.gen)
		if !errors.Is(err, pack.ErrCorrupt) {
			t.Fatalf("err %v, want ErrCorrupt", err)
		}
		if n > midOff || !bytes.Equal(out.Bytes(), f.want[:n]) {
			t.Fatalf("wrote %d bytes (damage at %d), identical %v", n, midOff, bytes.Equal(out.Bytes(), f.want[:n]))
		}
	})
	t.Run("missing", func(t *testing.T) {
		gen := func(emit diskmap.Emit) error {
			for i, s := range f.segs {
				if i == mid {
					s.ID = chunk.Sum([]byte("not stored"))
				}
				if err := emit(s); err != nil {
					return err
				}
			}
			return nil
		}
		var out bytes.Buffer
		n, err := f.r.WriteSegments(ctx, &out, gen)
		if !errors.Is(err, ErrMissingChunk) || n > midOff || !bytes.Equal(out.Bytes(), f.want[:n]) {
			t.Fatalf("%d bytes, %v; want ErrMissingChunk after at most %d bytes", n, err, midOff)
		}
	})
	t.Run("writer", func(t *testing.T) {
		boom := errors.New("disk full")
		var left int64 = 20 << 20
		w := writerFunc(func(p []byte) (int, error) {
			if int64(len(p)) > left {
				return 0, boom
			}
			left -= int64(len(p))
			return len(p), nil
		})
		if _, err := f.r.WriteSegments(ctx, w, f.gen); !errors.Is(err, boom) {
			t.Fatalf("err %v, want the writer's", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		var wrote int64
		w := writerFunc(func(p []byte) (int, error) {
			if wrote += int64(len(p)); wrote > 8<<20 {
				cancel()
			}
			return len(p), nil
		})
		start := time.Now()
		if _, err := f.r.WriteSegments(cctx, w, f.gen); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s to stop", d)
		}
	})
	if left := bufInUse.Load() - base; left != 0 {
		t.Errorf("%d bytes of buffers not given back", left)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines, %d before", n, goroutines)
	}
}

// TestPlanReads checks the read plan: neighbours merge in any order, up to
// maxReadGap apart and maxReadSpan long; packs never merge; reads come in
// the order of first need.
func TestPlanReads(t *testing.T) {
	pa, pb := chunk.Sum([]byte("a")), chunk.Sum([]byte("b"))
	at := func(p chunk.ID, off, n uint64) *want {
		return &want{loc: index.Location{Pack: p, Entry: index.Entry{Offset: off, Length: uint32(n), RawLength: uint32(n), Compression: chunk.Raw}}}
	}
	const k = 64 << 10
	ws := []*want{
		at(pa, 2*k, k), at(pb, 0, k), at(pa, 0, k), at(pa, k, k), // a: [0,3k) in one read
		at(pa, 3*k+maxReadGap, k),     // a gap of maxReadGap: merged
		at(pa, 5*k+2*maxReadGap+1, k), // one byte more: a new read
		at(pa, maxReadSpan, k),        // past the span of the first: a new read
		at(pb, k+maxReadGap+1, 2*k),   // b: apart
	}
	reads := planReads(ws)
	got := ""
	for _, rd := range reads {
		p := "a"
		if rd.pack == pb {
			p = "b"
		}
		got += fmt.Sprintf("%s[%d,%d)x%d ", p, rd.off/k, (rd.end+k-1)/k, len(rd.wants))
	}
	want := fmt.Sprintf("a[0,%d)x4 b[0,1)x1 a[%d,%d)x1 a[%d,%d)x1 b[%d,%d)x1 ",
		(4*k+maxReadGap)/k, (5*k+2*maxReadGap+1)/k, (6*k+2*maxReadGap+1+k-1)/k,
		maxReadSpan/k, maxReadSpan/k+1, (k+maxReadGap+1)/k, (3*k+maxReadGap+1+k-1)/k)
	if got != want {
		t.Errorf("reads %s\nwant  %s", got, want)
	}
	for _, w := range ws {
		if w.rd == nil || w.loc.Pack != w.rd.pack || w.loc.Entry.Offset < w.rd.off || w.loc.Entry.Offset+uint64(w.loc.Entry.Length) > w.rd.end {
			t.Errorf("want at %d not inside its read", w.loc.Entry.Offset)
		}
	}
}

// TestRunWriter checks that runs adjacent in memory go out in one write,
// and zeros in pieces of len(zeros).
func TestRunWriter(t *testing.T) {
	buf := []byte("abcdefghij")
	var calls []string
	w := writerFunc(func(p []byte) (int, error) {
		calls = append(calls, fmt.Sprintf("%q", p[:min(len(p), 12)]))
		return len(p), nil
	})
	rw := &runWriter{w: w}
	id := chunk.Sum(buf)
	for _, s := range []diskmap.Segment{{ID: id, Skip: 0, N: 3}, {ID: id, Skip: 3, N: 2}, {ID: id, Skip: 7, N: 2}, {N: 2}, {N: int64(len(zeros))}, {ID: id, Skip: 9, N: 1}} {
		data := buf
		if s.Zero() {
			data = nil
		}
		if err := rw.segment(s, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.flush(); err != nil {
		t.Fatal(err)
	}
	z := fmt.Sprintf("%q", make([]byte, 12))
	want := fmt.Sprint([]string{`"abcde"`, `"hi"`, z, `"\x00\x00"`, `"j"`})
	if got := fmt.Sprint(calls); got != want || rw.n != int64(8+2+len(zeros)) {
		t.Errorf("writes %s (%d bytes)\nwant   %s", got, rw.n, want)
	}
	if err := rw.segment(diskmap.Segment{ID: id, Skip: 8, N: 3}, buf); err == nil {
		t.Error("a segment past its chunk was accepted")
	}
}
