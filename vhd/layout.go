package vhd

import (
	"fmt"
	"sort"
)

// An extent is a structure at a known place in the container file: a
// metadata structure, a data block, or a VHDX sector bitmap block.
type extent struct {
	off  int64
	n    int64
	kind extKind
	idx  uint32 // block or chunk index
}

type extKind uint8

const (
	extMeta extKind = 1 + iota
	extBlock
	extBitmap
)

// maxBlocks bounds the number of BAT entries we accept, and with it the
// memory for the BAT and the extent list (tens of MiB at worst).
const maxBlocks = 1 << 21

// sortExtents orders extents by file offset, merges overlapping metadata
// structures, and rejects any other overlap.
func sortExtents(ext []extent) ([]extent, error) {
	sort.Slice(ext, func(i, j int) bool {
		if ext[i].off != ext[j].off {
			return ext[i].off < ext[j].off
		}
		return ext[i].kind < ext[j].kind
	})
	out := ext[:0]
	for _, e := range ext {
		if e.n <= 0 {
			continue
		}
		if l := len(out); l > 0 && e.off < out[l-1].off+out[l-1].n {
			p := &out[l-1]
			if p.kind == extMeta && e.kind == extMeta {
				if end := e.off + e.n; end > p.off+p.n {
					p.n = end - p.off
				}
				continue
			}
			return nil, fmt.Errorf("%w: %s at %d overlaps %s at %d", ErrCorrupt, e.what(), e.off, p.what(), p.off)
		}
		out = append(out, e)
	}
	return out, nil
}

func (e extent) what() string {
	switch e.kind {
	case extBlock:
		return fmt.Sprintf("block %d", e.idx)
	case extBitmap:
		return fmt.Sprintf("sector bitmap %d", e.idx)
	}
	return "metadata"
}

// walk returns a generator that queues the extents in file order, with the
// gaps between them as Meta, and then the rest of the stream through
// trailing(tail, check).
func (s *Stream) walk(ext []extent, expand func(e extent) error, tail int64, check func([]byte) error) func() error {
	k := 0
	return func() error {
		if k == len(ext) {
			return s.trailing(tail, check)
		}
		e := ext[k]
		k++
		return s.step(e, expand)
	}
}

// step queues one extent of a walk: a Meta extent as it is, a block or
// bitmap through expand once its first byte has arrived.
func (s *Stream) step(e extent, expand func(e extent) error) error {
	s.metaTo(e.off)
	if e.kind == extMeta {
		s.metaTo(e.off + e.n)
		return nil
	}
	if err := s.src.fill(e.off + 1); err != nil {
		return err
	}
	if s.src.pos <= e.off {
		// A BAT entry past the end, or a file cut short: both.
		return fmt.Errorf("%w (or %w): %s at %d lies beyond the end of the file (%d bytes)", ErrCorrupt, ErrTruncated, e.what(), e.off, s.src.pos)
	}
	return expand(e)
}

// bitRuns calls fn for each run of equal bits among the first n bits of bm,
// with [a, b) the bit range. msb selects MSB-first order (VHD) instead of
// LSB-first (VHDX).
func bitRuns(bm []byte, n int, msb bool, fn func(a, b int, set bool)) {
	bit := func(i int) bool {
		if msb {
			return bm[i/8]&(0x80>>(i%8)) != 0
		}
		return bm[i/8]&(1<<(i%8)) != 0
	}
	start, cur := 0, bit(0)
	i := 1
	for i < n {
		if i%8 == 0 && i+8 <= n && ((cur && bm[i/8] == 0xff) || (!cur && bm[i/8] == 0)) {
			i += 8
			continue
		}
		if b := bit(i); b != cur {
			fn(start, i, cur)
			start, cur = i, b
		}
		i++
	}
	fn(start, n, cur)
}

func roundUp(n, m int64) int64 { return (n + m - 1) / m * m }

func ceilDiv(n, m int64) int64 { return (n + m - 1) / m }
