package vhd

import (
	"encoding/binary"
	"fmt"
)

// VHDX BAT entry states ([MS-VHDX] 2.5.1).
const (
	stNotPresent = 0
	stUndefined  = 1
	stZero       = 2
	stUnmapped   = 3
	stFull       = 6
	stPartial    = 7
)

// vhdxLayout is the parsed BAT of a VHDX and what the walk needs. It keeps
// 4 bytes per BAT entry, and 4 more per placed block or sector bitmap only
// when the BAT does not list them in file order.
type vhdxLayout struct {
	// bat holds every BAT entry, bitmap entries included, packed as the
	// state | FileOffsetMB<<3. The offset is kept only for entries that
	// place a block (checked by placeVHDX, so below 2^27 MiB); it is 0 for
	// the others.
	bat []uint32
	// order lists the BAT entry indexes of the placed entries in file
	// order; nil when ascending entry indexes are already in file order.
	order       []uint32
	chunkRatio  int64
	blocks      int64 // payload blocks
	parent      bool
	bs, vs, lss int64
	stash       map[uint32][]byte
	stashed     int64
}

const maxStash = 64 * mib

// vhdxEntryCost is the parser memory per BAT entry at most: the packed
// entry and its index in the file order.
const vhdxEntryCost = 8

// DefaultMetadataLimit is Options.MetadataLimit when it is 0: enough for
// the largest BAT accepted (2^21 blocks).
const DefaultMetadataLimit = 64 << 20

func (l *vhdxLayout) blockEntry(b int64) int64  { return b + b/l.chunkRatio }
func (l *vhdxLayout) bitmapEntry(c int64) int64 { return c*(l.chunkRatio+1) + l.chunkRatio }
func (l *vhdxLayout) isBitmap(j int64) bool     { return (j+1)%(l.chunkRatio+1) == 0 }
func (l *vhdxLayout) state(j int64) uint64      { return uint64(l.bat[j] & 7) }
func (l *vhdxLayout) fileOff(j int64) int64     { return int64(l.bat[j]>>3) * mib }
func (l *vhdxLayout) blockOf(j int64) int64     { return j - j/(l.chunkRatio+1) }
func (l *vhdxLayout) blockState(b int64) uint64 { return l.state(l.blockEntry(b)) }

// placed reports whether BAT entry j places a payload block or a sector
// bitmap that the walk visits.
func (l *vhdxLayout) placed(j int64) bool {
	st := l.state(j)
	if l.isBitmap(j) {
		return l.parent && st == stFull
	}
	return (st == stFull || st == stPartial) && l.blockOf(j) < l.blocks
}

// extentOf is the block or sector bitmap that placed BAT entry j places.
// The part of a last block past the virtual size is left to the gaps, so
// that a file that stops at the virtual size is accepted.
func (l *vhdxLayout) extentOf(j int64) extent {
	if l.isBitmap(j) {
		return extent{off: l.fileOff(j), n: mib, kind: extBitmap, idx: uint32(j / (l.chunkRatio + 1))}
	}
	b := l.blockOf(j)
	return extent{off: l.fileOff(j), n: roundUp(min(l.bs, l.vs-b*l.bs), l.lss), kind: extBlock, idx: uint32(b)}
}

// next returns the placed BAT entry at file order position *k and moves
// *k on; false after the last one.
func (l *vhdxLayout) next(k *int64) (int64, bool) {
	if l.order != nil {
		if *k >= int64(len(l.order)) {
			return 0, false
		}
		j := int64(l.order[*k])
		*k++
		return j, true
	}
	for ; *k < int64(len(l.bat)); *k++ {
		if l.placed(*k) {
			j := *k
			*k++
			return j, true
		}
	}
	return 0, false
}

// batReader reads BAT entries through the read-ahead window (and the
// replayed log) 64 KiB at a time, so that the raw BAT is never copied whole.
type batReader struct {
	s            *Stream
	off, entries int64
	buf          []byte
	first, n     int64 // entries [first, first+n) are in buf
}

func (r *batReader) get(j int64) (uint64, error) {
	if j < r.first || j >= r.first+r.n {
		if r.buf == nil {
			r.buf = make([]byte, 64<<10)
		}
		r.first, r.n = j, min(int64(len(r.buf))/8, r.entries-j)
		if err := r.s.readVHDX(r.buf[:8*r.n], r.off+8*j); err != nil {
			r.n = 0
			return 0, fmt.Errorf("vhdx BAT: %w", err)
		}
	}
	return binary.LittleEndian.Uint64(r.buf[8*(j-r.first):]), nil
}

// readVHDX reads file bytes for parsing, with the replayed log applied.
func (s *Stream) readVHDX(p []byte, off int64) error {
	if err := s.src.readAt(p, off); err != nil {
		return err
	}
	if s.ov != nil {
		s.ov.apply(p, off)
	}
	return nil
}

func (s *Stream) openVHDX() error {
	hdr := make([]byte, vhdxRegion2+vhdxRegionSize)
	if err := s.src.readAt(hdr, 0); err != nil {
		return fmt.Errorf("vhdx headers: %w", err)
	}
	h, err := pickHeader(hdr[vhdxHeader1:], hdr[vhdxHeader2:])
	if err != nil {
		return fmt.Errorf("vhdx: %w", err)
	}
	batR, metaR, err := parseRegions(hdr[vhdxRegion1:])
	if err != nil {
		var err2 error
		if batR, metaR, err2 = parseRegions(hdr[vhdxRegion2:]); err2 != nil {
			return err
		}
	}
	fixed := vhdxFixed(h, batR, metaR)
	if !h.logGUID.isZero() {
		if err := s.replayLog(h); err != nil {
			return err
		}
	}
	if metaR.n > vhdxMaxMetadata {
		return fmt.Errorf("%w: vhdx metadata region of %d bytes", ErrUnsupported, metaR.n)
	}
	mb := make([]byte, metaR.n)
	if err := s.readVHDX(mb, metaR.off); err != nil {
		return fmt.Errorf("vhdx metadata: %w", err)
	}
	m, err := parseVHDXMeta(mb)
	if err != nil {
		return err
	}
	s.info = Info{Format: FormatVHDX, Type: Dynamic, VirtualSize: m.virtualSize, BlockSize: m.blockSize,
		LogicalSectorSize: m.lss, PhysicalSectorSize: m.pss, DiskID: m.diskID, HasParent: m.hasParent,
		LogReplayed: s.ov != nil, DataWriteID: h.dataWrite}
	if m.leaveAlloc && !m.hasParent {
		s.info.Type = Fixed
	}
	if m.hasParent {
		s.info.Type = Differencing
		if g, ok := parseGUIDString(m.locator["parent_linkage"]); ok {
			s.info.ParentID = g
		}
		for _, k := range []string{"relative_path", "volume_path", "absolute_win32_path"} {
			if v := m.locator[k]; v != "" {
				s.info.ParentLocators = append(s.info.ParentLocators, v)
			}
		}
	}
	l := &vhdxLayout{chunkRatio: (int64(1) << 23) * int64(m.lss) / m.blockSize, stash: map[uint32][]byte{},
		parent: m.hasParent, bs: m.blockSize, vs: m.virtualSize, lss: int64(m.lss)}
	l.blocks = ceilDiv(m.virtualSize, m.blockSize)
	if l.blocks > maxBlocks {
		return fmt.Errorf("%w: vhdx with %d blocks", ErrUnsupported, l.blocks)
	}
	total := l.blocks + (l.blocks-1)/l.chunkRatio
	if m.hasParent {
		total = ceilDiv(l.blocks, l.chunkRatio) * (l.chunkRatio + 1)
	}
	if total*8 > batR.n {
		return fmt.Errorf("%w: vhdx BAT region of %d bytes for %d entries", ErrCorrupt, batR.n, total)
	}
	if need := total * vhdxEntryCost; need > s.metaLimit {
		return fmt.Errorf("%w: a vhdx BAT of %d entries needs %d bytes of parser memory, over the limit of %d",
			ErrMetadataLimit, total, need, s.metaLimit)
	}
	// The head is read ahead in memory up to 8 MiB plus at most 8 MiB of
	// BAT; a larger BAT moves the window to the spill file.
	s.src.memCap = defaultMemCap + min(total*8, defaultMemCap)
	last := make([]byte, 8)
	if err := s.readVHDX(last, batR.off+8*(total-1)); err != nil {
		return fmt.Errorf("vhdx BAT: %w", err)
	}
	if err := s.vhdxPlace(l, batR.off, total); err != nil {
		return err
	}
	if err := l.sortPlaces(fixed); err != nil {
		return err
	}
	walk := s.vhdxWalk(l, fixed)
	next := int64(0)
	s.gen = func() error {
		if next >= l.blocks {
			s.gen = walk
			return walk()
		}
		for end := min(next+4096, l.blocks); next < end; next++ {
			st := l.blockState(next)
			if st == stZero || st == stUnmapped || (!m.hasParent && (st == stNotPresent || st == stUndefined)) {
				v := next * m.blockSize
				s.zero(v, min(m.blockSize, m.virtualSize-v))
			}
		}
		return nil
	}
	return nil
}

// vhdxPlace decodes the BAT into l.bat, checking every entry of a block
// and, with a parent, of a sector bitmap, and placing those in the file.
func (s *Stream) vhdxPlace(l *vhdxLayout, off, total int64) error {
	l.bat = make([]uint32, total)
	blocks := batReader{s: s, off: off, entries: total}
	bitmaps := batReader{s: s, off: off, entries: total}
	for i := int64(0); i < l.blocks; i++ {
		if i%(1<<16) == 0 {
			if err := s.ctxErr(); err != nil {
				return err
			}
		}
		j := l.blockEntry(i)
		e, err := blocks.get(j)
		if err != nil {
			return err
		}
		st := e & 7
		switch st {
		case stNotPresent, stUndefined, stZero, stUnmapped:
			l.bat[j] = uint32(st)
			continue
		case stFull:
		case stPartial:
			if !s.info.HasParent {
				return fmt.Errorf("%w: vhdx block %d partially present without parent", ErrCorrupt, i)
			}
			be, err := bitmaps.get(l.bitmapEntry(i / l.chunkRatio))
			if err != nil {
				return err
			}
			if be&7 != stFull || be>>20 == 0 {
				return fmt.Errorf("%w: vhdx block %d partially present without sector bitmap", ErrCorrupt, i)
			}
		default:
			return fmt.Errorf("%w: vhdx block %d in state %d", ErrCorrupt, i, st)
		}
		l.bat[j] = uint32(st) // placed, so that extentOf knows its size
		x, err := placeVHDX(l.extentOf(j), e, l.chunkRatio)
		if err != nil {
			return err
		}
		l.bat[j] = uint32(st) | uint32(x.off/mib)<<3
	}
	if !s.info.HasParent {
		return nil
	}
	for c := int64(0); c*l.chunkRatio < l.blocks; c++ {
		j := l.bitmapEntry(c)
		e, err := bitmaps.get(j)
		if err != nil {
			return err
		}
		if e&7 != stFull {
			l.bat[j] = uint32(e & 7)
			continue
		}
		x, err := placeVHDX(extent{n: mib, kind: extBitmap, idx: uint32(c)}, e, l.chunkRatio)
		if err != nil {
			return err
		}
		l.bat[j] = stFull | uint32(x.off/mib)<<3
	}
	return nil
}

// vhdxWalk returns a generator that queues the fixed structures, blocks
// and sector bitmaps in file order, with the gaps between them as Meta,
// and then the rest of the stream.
func (s *Stream) vhdxWalk(l *vhdxLayout, fixed []vhdxRange) func() error {
	var metas []extent
	for _, r := range fixed {
		metas = append(metas, extent{off: r.off, n: r.n, kind: extMeta})
	}
	metas, _ = sortExtents(metas) // merges them; metadata never conflicts
	var k int64
	j, more := l.next(&k)
	return func() error {
		var e extent
		switch {
		case len(metas) > 0 && (!more || metas[0].off <= l.fileOff(j)):
			e, metas = metas[0], metas[1:]
		case more:
			e = l.extentOf(j)
			j, more = l.next(&k)
		default:
			return s.trailing(0, nil)
		}
		return s.step(e, func(e extent) error { return s.vhdxExpand(l, e) })
	}
}

// vhdxExpand queues one block or sector bitmap.
func (s *Stream) vhdxExpand(l *vhdxLayout, e extent) error {
	bs, lss := s.info.BlockSize, int64(s.info.LogicalSectorSize)
	portion := bs / lss / 8
	if e.kind == extBitmap {
		// Keep the bits of partially present blocks that come later.
		for i := int64(e.idx) * l.chunkRatio; i < min(l.blocks, int64(e.idx+1)*l.chunkRatio); i++ {
			if l.blockState(i) != stPartial || l.fileOff(l.blockEntry(i)) < e.off {
				continue
			}
			if l.stashed += portion; l.stashed > maxStash {
				return fmt.Errorf("%w: too many partially present blocks after their bitmaps", ErrUnsupported)
			}
			bm := make([]byte, portion)
			if err := s.readVHDX(bm, e.off+(i%l.chunkRatio)*portion); err != nil {
				return err
			}
			l.stash[uint32(i)] = bm
		}
		s.metaTo(e.off + e.n)
		return nil
	}
	i := int64(e.idx)
	if l.blockState(i) == stFull {
		s.payload(e.n, i*bs)
		return nil
	}
	bm, ok := l.stash[e.idx]
	if ok {
		delete(l.stash, e.idx)
		l.stashed -= portion
	} else {
		bm = make([]byte, portion)
		boff := l.fileOff(l.bitmapEntry(i/l.chunkRatio)) + (i%l.chunkRatio)*portion
		if err := s.readVHDX(bm, boff); err != nil {
			return fmt.Errorf("vhdx sector bitmap of block %d: %w", i, err)
		}
	}
	s.sectorRuns(i*bs, lss, bm, int(e.n/lss), false, false)
	return nil
}
