package repo

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/index"
)

// Limits of the restore path (WriteSegments). The output is cut into
// windows; the chunks of a window are fetched with ranged reads of their
// packs, planned over the whole window, so that chunks stored next to
// each other (or nearly, and in any order) come with one request.
const (
	// windowData bounds the decoded bytes of the distinct chunks of one
	// window, and windowSegs its segments.
	windowData = 16 << 20
	windowSegs = 2048
	// maxReadSpan bounds one ranged read of a pack.
	maxReadSpan = 4 << 20
	// maxReadGap is the most bytes between two wanted chunks of a pack
	// that one read takes along rather than making two requests.
	maxReadGap = 256 << 10
	// restoreBudget bounds the chunk bytes one WriteSegments holds at
	// once: the buffers of reads in flight or waiting to be written, and
	// of the chunks decoded from them.
	restoreBudget = 64 << 20
)

// A want is one distinct chunk a window needs.
type want struct {
	loc  index.Location
	rd   *read  // the read that brings it
	buf  []byte // compressed: what it is decoded into
	data []byte // its checked bytes, once rd is done
}

// A read is one ranged read of a pack, [off, end), that brings one or
// more wanted chunks, sorted by offset.
type read struct {
	pack     chunk.ID
	off, end uint64
	wants    []*want
	buf      []byte        // the bytes read
	done     chan struct{} // closed once data or err is set
	err      error
	listed   bool // planReads put it in the window's reads
}

// A window is a run of segments of the output, in order, and the reads
// that bring their chunks, in the order the output first needs them.
type window struct {
	segs  []diskmap.Segment
	wants []*want // wants[i] holds segs[i]'s chunk; nil for zeros
	reads []*read
	cost  int64 // buffer bytes the window's reads take
	held  int64 // what it holds of the budget
}

// planner cuts segments into windows.
type planner struct {
	idx   *index.Index
	win   *window
	byID  map[chunk.ID]*want
	order []*want // the window's distinct chunks, by first use
	data  int64   // their decoded bytes
}

func newPlanner(idx *index.Index) *planner {
	return &planner{idx: idx, win: &window{}, byID: make(map[chunk.ID]*want)}
}

// add appends s to the window being planned and reports whether the
// window is full.
func (p *planner) add(s diskmap.Segment) (bool, error) {
	var wt *want
	if !s.Zero() {
		wt = p.byID[s.ID]
		if wt == nil {
			loc, ok, err := p.idx.Lookup(s.ID)
			if err == nil && !ok {
				err = fmt.Errorf("chunk %s: %w", s.ID.Short(), ErrMissingChunk)
			}
			if err != nil {
				return false, err
			}
			wt = &want{loc: loc}
			p.byID[s.ID] = wt
			p.order = append(p.order, wt)
			p.data += int64(loc.Entry.RawLength)
		}
	}
	p.win.segs = append(p.win.segs, s)
	p.win.wants = append(p.win.wants, wt)
	return p.data >= windowData || len(p.win.segs) >= windowSegs, nil
}

// empty reports whether the window being planned has no segment.
func (p *planner) empty() bool { return len(p.win.segs) == 0 }

// take plans the reads of the window and starts a new one.
func (p *planner) take() *window {
	w := p.win
	w.reads = planReads(p.order)
	for _, rd := range w.reads {
		w.cost += rd.cost()
	}
	p.win, p.order, p.data = &window{}, nil, 0
	clear(p.byID)
	return w
}

// planReads groups wanted chunks (distinct, in the order the output first
// needs them) into ranged reads: by pack and offset, merging neighbours
// up to maxReadGap apart while a read spans at most maxReadSpan. It sets
// each want's read and returns the reads in the order of first need.
func planReads(order []*want) []*read {
	sorted := slices.Clone(order)
	slices.SortFunc(sorted, func(a, b *want) int {
		if c := cmp.Compare(string(a.loc.Pack[:]), string(b.loc.Pack[:])); c != 0 {
			return c
		}
		return cmp.Compare(a.loc.Entry.Offset, b.loc.Entry.Offset)
	})
	var cur *read
	for _, wt := range sorted {
		off := wt.loc.Entry.Offset
		end := off + uint64(wt.loc.Entry.Length)
		if cur == nil || wt.loc.Pack != cur.pack || off > cur.end+maxReadGap || max(end, cur.end)-cur.off > maxReadSpan {
			cur = &read{pack: wt.loc.Pack, off: off, end: end, done: make(chan struct{})}
		}
		cur.end = max(cur.end, end)
		cur.wants = append(cur.wants, wt)
		wt.rd = cur
	}
	var reads []*read
	for _, wt := range order {
		if rd := wt.rd; !rd.listed {
			rd.listed = true
			reads = append(reads, rd)
		}
	}
	return reads
}

// cost is the buffer bytes the read takes: what it reads and what its
// compressed chunks are decoded into, as the buffer pool rounds them.
func (rd *read) cost() int64 {
	c := int64(bufCap(int(rd.end - rd.off)))
	for _, wt := range rd.wants {
		if wt.loc.Entry.Compression != chunk.Raw {
			c += int64(bufCap(int(wt.loc.Entry.RawLength)))
		}
	}
	return c
}
