package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/shadowvault/shadowvault/vhd"
)

// overlay is the virtual content of an incremental disk: the base's
// content, resized, with the body's parts over it. It is read in order,
// from positions the patcher chooses (seek); the parts' bytes arrive once,
// from the body, and the ones read recently are kept so that a walk that
// ends inside its read-ahead can be resumed there.
type overlay struct {
	ctx   context.Context
	base  Base
	bsize int64 // the base's size
	size  int64 // the new size
	parts *rangeParts
	gaps  []span // ranges of [0, size) that reuse nothing of the base

	known   []span    // parts whose header was read, in order
	body    io.Reader // of the last known part
	bodyOff int64     // offset of its next unread byte
	hist    []histSeg // part bytes read, in order, trimmed to keep
	keep    int64     // how far back reads may go
	changed int64     // bytes of parts read
	pos     int64
}

type histSeg struct {
	off  int64
	data []byte
}

// seek moves the read position. Part bytes before it are no longer needed.
func (o *overlay) seek(pos int64) { o.pos = pos; o.trim(pos) }

// trim forgets part bytes, and parts but the last, that end before
// before: reads never go back that far, and a body of many small parts
// holds no more than the window.
func (o *overlay) trim(before int64) {
	i := 0
	for i < len(o.hist) && o.hist[i].off+int64(len(o.hist[i].data)) <= before {
		i++
	}
	o.hist = o.hist[i:]
	k := 0
	for k < len(o.known)-1 && o.known[k].end <= before {
		k++
	}
	o.known = o.known[k:]
}

// piece makes the overlay the walker's piece stream: one virtual piece from
// the read position to the end of the disk.
func (o *overlay) piece() pieces { return &overlayPieces{o: o} }

type overlayPieces struct {
	o    *overlay
	sent bool
}

func (p *overlayPieces) Next() (vhd.Piece, error) {
	if p.sent {
		return vhd.Piece{}, io.EOF
	}
	p.sent = true
	return vhd.Piece{Kind: vhd.Virtual, VOff: p.o.pos, Len: p.o.size - p.o.pos}, nil
}

func (p *overlayPieces) Read(b []byte) (int, error) { return p.o.Read(b) }

// more reads the next part's header. It reports false after the last part.
func (o *overlay) more() (bool, error) {
	if o.body != nil && o.bodyOff < o.known[len(o.known)-1].end {
		return false, fmt.Errorf("ingest: next part asked for with %d bytes of the last one unread", o.known[len(o.known)-1].end-o.bodyOff)
	}
	sp, body, err := o.parts.next()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	o.known = append(o.known, sp)
	o.body, o.bodyOff = body, sp.off
	o.changed += sp.end - sp.off
	return true, nil
}

// partAt returns the known part holding pos, or the first one after it
// (ok false), reading headers until one ends after pos or the parts end.
func (o *overlay) partAt(pos int64) (sp span, ok, found bool, err error) {
	for {
		i := sort.Search(len(o.known), func(i int) bool { return o.known[i].end > pos })
		if i < len(o.known) {
			return o.known[i], o.known[i].off <= pos, true, nil
		}
		more, err := o.more()
		if err != nil || !more {
			return span{}, false, false, err
		}
	}
}

// gapAt returns the gap holding pos or the first one after it.
func (o *overlay) gapAt(pos int64) (span, bool) {
	i := sort.Search(len(o.gaps), func(i int) bool { return o.gaps[i].end > pos })
	if i < len(o.gaps) {
		return o.gaps[i], true
	}
	return span{}, false
}

// nextDirty returns the first byte at or after pos that cannot reuse the
// base as it is (a part's, or a gap's), or the size.
func (o *overlay) nextDirty(pos int64) (int64, error) {
	d := o.size
	if g, ok := o.gapAt(pos); ok {
		d = max(g.off, pos)
	}
	sp, _, found, err := o.partAt(pos)
	if err != nil {
		return 0, err
	}
	if found {
		d = min(d, max(sp.off, pos))
	}
	return d, nil
}

// dirty reports whether pos lies in a known part or a gap.
func (o *overlay) dirty(pos int64) bool {
	if g, ok := o.gapAt(pos); ok && g.off <= pos {
		return true
	}
	i := sort.Search(len(o.known), func(i int) bool { return o.known[i].end > pos })
	return i < len(o.known) && o.known[i].off <= pos
}

// Read reads the content at the read position.
func (o *overlay) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if err := o.ctx.Err(); err != nil {
		return 0, err
	}
	p = p[:min(int64(len(p)), o.size-o.pos)]
	sp, in, found, err := o.partAt(o.pos)
	if err != nil {
		return 0, err
	}
	var n int
	switch {
	case in:
		n, err = o.readPart(p[:min(int64(len(p)), sp.end-o.pos)])
	default:
		if found {
			p = p[:min(int64(len(p)), sp.off-o.pos)]
		}
		n, err = o.readBase(p)
	}
	o.pos += int64(n)
	return n, err
}

// readPart reads part bytes at pos: again from the history, or for the
// first time from the body.
func (o *overlay) readPart(p []byte) (int, error) {
	if o.pos < o.bodyOff { // read before: from the history
		i := sort.Search(len(o.hist), func(i int) bool { return o.hist[i].off+int64(len(o.hist[i].data)) > o.pos })
		if i < len(o.hist) && o.hist[i].off <= o.pos {
			h := o.hist[i]
			return copy(p, h.data[o.pos-h.off:]), nil
		}
	}
	if o.pos != o.bodyOff {
		return 0, fmt.Errorf("ingest: part bytes at %d were read and dropped (the body is at %d)", o.pos, o.bodyOff)
	}
	n, err := io.ReadFull(o.body, p)
	if n > 0 {
		o.hist = append(o.hist, histSeg{off: o.bodyOff, data: append([]byte(nil), p[:n]...)})
		o.bodyOff += int64(n)
		o.trim(o.bodyOff - o.keep)
	}
	if err == nil && o.bodyOff == o.known[len(o.known)-1].end {
		// The part's last byte: nothing may follow it.
		var one [1]byte
		if _, err = o.body.Read(one[:]); err == io.EOF {
			err = nil
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: the body ended inside a part", ErrTruncatedBody)
	}
	return n, err
}

// readBase reads the base's content (zeros past its end).
func (o *overlay) readBase(p []byte) (int, error) {
	if o.pos >= o.bsize {
		clear(p)
		return len(p), nil
	}
	p = p[:min(int64(len(p)), o.bsize-o.pos)]
	n, err := o.base.ReadAtContext(o.ctx, p, o.pos)
	if n == len(p) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = fmt.Errorf("base disk: %d of %d bytes at %d", n, len(p), o.pos)
	}
	return n, err
}
