package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sort"

	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/vhd"
)

// Base is the disk an incremental upload changes: a disk of an earlier
// snapshot.
type Base interface {
	// Size is the virtual size.
	Size() int64
	// Reusable lists what a new disk map may reference as it is: zero
	// extents, and data extents that are whole chunks, sorted and not
	// overlapping. The content between them is read.
	Reusable() []diskmap.Extent
	// ReadAtContext reads virtual content.
	ReadAtContext(ctx context.Context, p []byte, off int64) (int, error)
}

// Incremental ingests a changed-block upload: a multipart/byteranges body
// (boundary from its Content-Type) whose parts, each with a Content-Range
// "bytes FIRST-LAST/SIZE", are written over base's content, resized to
// SIZE; an empty body leaves it unchanged.
//
// The new disk map references the base's extents wherever nothing changed,
// without reading them. Around each change the content is chunked again,
// from the start of the base extent the change falls in, for as long as it
// takes the chunker to cut where the base has an extent boundary again:
// from there on the base's extents are reused. So the cost of a change is
// about one chunk of reading before it and one or two after it, and the
// chunks it makes are the ones a full upload of the new content would
// make, up to the first common boundary.
//
// The result's stream figures are the body's (its bytes and BLAKE3), its
// recipe is the virtual content (the original file of an incremental disk
// is its raw content), and Changed counts the bytes of the parts.
func Incremental(ctx context.Context, base Base, body io.Reader, boundary string, s Saver, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hr := newHashReader(ctx, body)
	defer hr.Close()

	o := &overlay{ctx: ctx, base: base, bsize: base.Size(), parts: newRangeParts(hr, boundary),
		keep: 2*int64(opts.Params.MaxSize) + 4<<20}
	o.size = o.bsize
	if more, err := o.more0(); err != nil {
		return nil, err
	} else if more {
		o.size = o.parts.size
	}
	reuse := clipReusable(base.Reusable(), min(o.bsize, o.size))
	if o.size > o.bsize { // grown: zeros, but where a part writes
		reuse = append(reuse, diskmap.Extent{Offset: o.bsize, Length: o.size - o.bsize, Kind: diskmap.ExtentZero})
	}
	o.gaps = gapsOf(reuse, o.size)

	pool, jobs, wait := startSavers(ctx, cancel, s, opts)
	p := &patcher{o: o, reuse: reuse, newWalker: func() *walker { return newWalker(ctx, o.piece(), opts.Params, pool, jobs) }}
	perr := p.run()
	wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	if err := drainEpilogue(hr); err != nil {
		return nil, err
	}
	ext, err := normalize(p.out, o.size, diskmap.ExtentZero)
	if err != nil {
		return nil, err
	}
	return &Result{
		Format: diskmap.FormatRaw, Container: diskmap.Container{Type: "incremental"},
		Map: &diskmap.Map{VirtualSize: o.size, Extents: ext,
			Recipe: []diskmap.Piece{{Kind: diskmap.PieceVirtual, Length: o.size}}},
		StreamBytes: hr.n, StreamBLAKE3: hex.EncodeToString(hr.sum()), Chunks: p.chunks,
		Changed: o.changed,
	}, nil
}

// more0 reads the first part's header, which names the new size.
func (o *overlay) more0() (bool, error) {
	more, err := o.more()
	if err == nil && !more && o.parts.n == 0 && o.bsize == 0 {
		return false, fmt.Errorf("%w: no parts and no base content", vhd.ErrEmptyDisk)
	}
	return more, err
}

// drainEpilogue reads what follows the last part: a few bytes of line
// ends at most.
func drainEpilogue(hr *hashReader) error {
	n, err := io.Copy(io.Discard, io.LimitReader(hr, 64<<10))
	if err != nil {
		return err
	}
	if n == 64<<10 {
		return fmt.Errorf("%w: the body goes on after its last part", ErrTrailingData)
	}
	return nil
}

// clipReusable keeps the extents that lie inside [0, size), cutting a zero
// extent at size.
func clipReusable(ext []diskmap.Extent, size int64) []diskmap.Extent {
	var out []diskmap.Extent
	for _, e := range ext {
		switch {
		case e.Offset+e.Length <= size:
			out = append(out, e)
		case e.Kind == diskmap.ExtentZero && e.Offset < size:
			e.Length = size - e.Offset
			out = append(out, e)
		}
	}
	return out
}

// gapsOf returns the ranges of [0, size) no extent of ext covers.
func gapsOf(ext []diskmap.Extent, size int64) []span {
	var gaps []span
	var pos int64
	for _, e := range ext {
		if e.Offset > pos {
			gaps = append(gaps, span{pos, e.Offset})
		}
		pos = e.Offset + e.Length
	}
	if pos < size {
		gaps = append(gaps, span{pos, size})
	}
	return gaps
}

// patcher lays out the new disk map: the base's extents where they can be
// reused, new chunks where the content changed.
type patcher struct {
	o         *overlay
	reuse     []diskmap.Extent
	newWalker func() *walker
	out       []*diskmap.Extent
	chunks    int
}

func (p *patcher) run() error {
	var pos int64
	for pos < p.o.size {
		d, err := p.o.nextDirty(pos)
		if err != nil {
			return err
		}
		// A walk starts where the base's chunker started a run too: at the
		// start of the data extent d falls in, or at the zero block it
		// falls in, so that the new chunks fall in step with the base's.
		start := d
		if i, ok := p.extentAt(d); ok {
			if e := p.reuse[i]; e.Kind == diskmap.ExtentZero {
				start = max(e.Offset, d&^(zeroBlock-1))
			} else {
				start = e.Offset
			}
		}
		start = max(start, pos)
		if err := p.emit(pos, start); err != nil {
			return err
		}
		if d >= p.o.size {
			break
		}
		if pos, err = p.walk(start, d); err != nil {
			return err
		}
	}
	if more, err := p.o.more(); err != nil || more {
		if err == nil {
			err = fmt.Errorf("%w: a part after the end of the changes", ErrBadRanges)
		}
		return err
	}
	return nil
}

// extentAt returns the index of the reusable extent holding off.
func (p *patcher) extentAt(off int64) (int, bool) {
	i := sort.Search(len(p.reuse), func(i int) bool { return p.reuse[i].Offset+p.reuse[i].Length > off })
	return i, i < len(p.reuse) && p.reuse[i].Offset <= off
}

// emit reuses the base's extents for [from, to), which nothing changed.
func (p *patcher) emit(from, to int64) error {
	i, _ := p.extentAt(from)
	for ; i < len(p.reuse) && p.reuse[i].Offset < to; i++ {
		e := p.reuse[i]
		if e.Kind == diskmap.ExtentData && (e.Offset < from || e.Offset+e.Length > to) {
			return fmt.Errorf("ingest: base chunk at %d+%d straddles reused range [%d, %d)", e.Offset, e.Length, from, to)
		}
		if e.Offset < from {
			e.Length -= from - e.Offset
			e.Offset = from
		}
		e.Length = min(e.Length, to-e.Offset)
		p.out = append(p.out, &e)
	}
	return nil
}

// walk chunks the new content from start, which precedes the change at d,
// until the walk reaches a base extent's start past the change where
// nothing changes, and returns that offset (or the size).
func (p *patcher) walk(start, d int64) (int64, error) {
	w := p.newWalker()
	w.cuts = p
	p.o.seek(start)
	w.stop = func(c int64) bool { return c > d && p.reusableAt(c) && !p.o.dirty(c) }
	if err := w.run(); err != nil {
		return 0, err
	}
	end := p.o.size
	if w.stopped {
		end = w.stopOff
	}
	for _, e := range w.extents {
		if e.Offset >= end {
			continue
		}
		if e.Offset+e.Length > end {
			if e.Kind != diskmap.ExtentZero {
				return 0, fmt.Errorf("ingest: chunk at %d runs past the walk's end %d", e.Offset, end)
			}
			e.Length = end - e.Offset
		}
		p.out = append(p.out, e)
	}
	p.chunks += w.chunks
	return end, nil
}

// IsCut and NextCut make the base's extent boundaries forced cuts of a
// walk: a changed region is cut where the base was (at its guest file
// boundaries too), and the walk gets back in step with the base at the
// first boundary past the change.
func (p *patcher) IsCut(v int64) bool {
	i := sort.Search(len(p.reuse), func(i int) bool { return p.reuse[i].Offset+p.reuse[i].Length >= v })
	return i < len(p.reuse) && (p.reuse[i].Offset == v || p.reuse[i].Offset+p.reuse[i].Length == v)
}

func (p *patcher) NextCut(v int64) int64 {
	i := sort.Search(len(p.reuse), func(i int) bool { return p.reuse[i].Offset+p.reuse[i].Length > v })
	if i == len(p.reuse) {
		return -1
	}
	if e := p.reuse[i]; e.Offset > v {
		return e.Offset
	}
	return p.reuse[i].Offset + p.reuse[i].Length
}

// reusableAt reports whether the base can be reused from c on: c is where
// a reusable extent starts, or a zero block inside a zero extent.
func (p *patcher) reusableAt(c int64) bool {
	i, ok := p.extentAt(c)
	if !ok {
		return false
	}
	e := p.reuse[i]
	return e.Offset == c || e.Kind == diskmap.ExtentZero && c%zeroBlock == 0
}
