package vhd

import "sort"

// overlay is what a replayed VHDX log wrote over the file: sorted,
// non-overlapping segments of data or zeros.
type overlay struct {
	segs []ovSeg
}

type ovSeg struct {
	off, n int64
	data   []byte // nil: zeros
}

// paint writes a segment over the earlier ones.
func (o *overlay) paint(off, n int64, data []byte) {
	end := off + n
	out := make([]ovSeg, 0, len(o.segs)+2)
	for _, g := range o.segs {
		gEnd := g.off + g.n
		if gEnd <= off || g.off >= end {
			out = append(out, g)
			continue
		}
		if g.off < off {
			out = append(out, g.sub(g.off, off))
		}
		if gEnd > end {
			out = append(out, g.sub(end, gEnd))
		}
	}
	out = append(out, ovSeg{off: off, n: n, data: data})
	sort.Slice(out, func(i, j int) bool { return out[i].off < out[j].off })
	o.segs = out
}

func (g ovSeg) sub(a, b int64) ovSeg {
	s := ovSeg{off: a, n: b - a}
	if g.data != nil {
		s.data = g.data[a-g.off : b-g.off]
	}
	return s
}

// each calls fn for the parts of [off, off+n) covered by segments, in order.
func (o *overlay) each(off, n int64, fn func(g ovSeg)) {
	end := off + n
	i := sort.Search(len(o.segs), func(i int) bool { return o.segs[i].off+o.segs[i].n > off })
	for ; i < len(o.segs) && o.segs[i].off < end; i++ {
		g := o.segs[i]
		fn(g.sub(max(g.off, off), min(g.off+g.n, end)))
	}
}

// apply puts the overlay over p, the file bytes at off.
func (o *overlay) apply(p []byte, off int64) {
	o.each(off, int64(len(p)), func(g ovSeg) {
		dst := p[g.off-off : g.off-off+g.n]
		if g.data == nil {
			clear(dst)
		} else {
			copy(dst, g.data)
		}
	})
}

// payload queues n file bytes at s.cur that are virtual content at voff.
// Where the log overwrote them, the file bytes become Meta and the
// replayed bytes a Virtual (or Zero) piece.
func (s *Stream) payload(n, voff int64) {
	if s.ov == nil {
		s.file(Payload, n, voff)
		return
	}
	start := s.cur
	s.ov.each(start, n, func(g ovSeg) {
		s.file(Payload, g.off-s.cur, voff+s.cur-start)
		v := voff + g.off - start
		s.file(Meta, g.n, 0)
		if g.data == nil {
			s.zero(v, g.n)
		} else {
			s.queue = append(s.queue, qpiece{Piece: Piece{Kind: Virtual, FileOff: -1, VOff: v, Len: g.n}, src: g.off})
		}
	})
	s.file(Payload, start+n-s.cur, voff+s.cur-start)
}
