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

// vhdxLayout is the parsed BAT of a VHDX and what the walk needs.
type vhdxLayout struct {
	bat        []uint64 // all BAT entries, bitmap entries included
	chunkRatio int64
	blocks     int64 // payload blocks
	stash      map[uint32][]byte
	stashed    int64
}

const maxStash = 64 * mib

func (l *vhdxLayout) entry(block int64) uint64 { return l.bat[block+block/l.chunkRatio] }
func (l *vhdxLayout) bitmapEntry(chunk int64) uint64 {
	return l.bat[chunk*(l.chunkRatio+1)+l.chunkRatio]
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
	l := &vhdxLayout{chunkRatio: (int64(1) << 23) * int64(m.lss) / m.blockSize, stash: map[uint32][]byte{}}
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
	s.src.memCap = defaultMemCap + total*8
	bb := make([]byte, total*8)
	if err := s.readVHDX(bb, batR.off); err != nil {
		return fmt.Errorf("vhdx BAT: %w", err)
	}
	l.bat = make([]uint64, total)
	for i := range l.bat {
		l.bat[i] = binary.LittleEndian.Uint64(bb[8*i:])
	}
	ext, err := s.vhdxExtents(l, fixed)
	if err != nil {
		return err
	}
	walk := s.walk(ext, func(e extent) error { return s.vhdxExpand(l, e) }, 0, nil)
	next := int64(0)
	s.gen = func() error {
		if next >= l.blocks {
			s.gen = walk
			return walk()
		}
		for end := min(next+4096, l.blocks); next < end; next++ {
			st := l.entry(next) & 7
			if st == stZero || st == stUnmapped || (!m.hasParent && (st == stNotPresent || st == stUndefined)) {
				v := next * m.blockSize
				s.zero(v, min(m.blockSize, m.virtualSize-v))
			}
		}
		return nil
	}
	return nil
}

// vhdxExtents checks every BAT entry and lists the fixed structures, the
// blocks and the sector bitmaps that are needed.
func (s *Stream) vhdxExtents(l *vhdxLayout, fixed []vhdxRange) ([]extent, error) {
	bs, vs := s.info.BlockSize, s.info.VirtualSize
	var ext []extent
	for i := int64(0); i < l.blocks; i++ {
		e := l.entry(i)
		switch st := e & 7; st {
		case stNotPresent, stUndefined, stZero, stUnmapped:
			continue
		case stFull:
		case stPartial:
			if !s.info.HasParent {
				return nil, fmt.Errorf("%w: vhdx block %d partially present without parent", ErrCorrupt, i)
			}
			if be := l.bitmapEntry(i / l.chunkRatio); be&7 != stFull || be>>20 == 0 {
				return nil, fmt.Errorf("%w: vhdx block %d partially present without sector bitmap", ErrCorrupt, i)
			}
		default:
			return nil, fmt.Errorf("%w: vhdx block %d in state %d", ErrCorrupt, i, st)
		}
		// The part of a last block past the virtual size is left to the
		// gaps, so that a file that stops at the virtual size is accepted.
		n := roundUp(min(bs, vs-i*bs), int64(s.info.LogicalSectorSize))
		x, err := placeVHDX(extent{n: n, kind: extBlock, idx: uint32(i)}, e, l.chunkRatio)
		if err != nil {
			return nil, err
		}
		ext = append(ext, x)
	}
	if s.info.HasParent {
		for c := int64(0); c*l.chunkRatio < l.blocks; c++ {
			if e := l.bitmapEntry(c); e&7 == stFull {
				x, err := placeVHDX(extent{n: mib, kind: extBitmap, idx: uint32(c)}, e, l.chunkRatio)
				if err != nil {
					return nil, err
				}
				ext = append(ext, x)
			}
		}
	}
	if err := checkVHDXPlaces(fixed, ext, l.chunkRatio); err != nil {
		return nil, err
	}
	for _, r := range fixed {
		ext = append(ext, extent{off: r.off, n: r.n, kind: extMeta})
	}
	return sortExtents(ext)
}

// vhdxExpand queues one block or sector bitmap.
func (s *Stream) vhdxExpand(l *vhdxLayout, e extent) error {
	bs, lss := s.info.BlockSize, int64(s.info.LogicalSectorSize)
	portion := bs / lss / 8
	if e.kind == extBitmap {
		// Keep the bits of partially present blocks that come later.
		for i := int64(e.idx) * l.chunkRatio; i < min(l.blocks, int64(e.idx+1)*l.chunkRatio); i++ {
			be := l.entry(i)
			if be&7 != stPartial || int64(be>>20)*mib < e.off {
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
	if l.entry(i)&7 == stFull {
		s.payload(e.n, i*bs)
		return nil
	}
	bm, ok := l.stash[e.idx]
	if ok {
		delete(l.stash, e.idx)
		l.stashed -= portion
	} else {
		bm = make([]byte, portion)
		boff := int64(l.bitmapEntry(i/l.chunkRatio)>>20)*mib + (i%l.chunkRatio)*portion
		if err := s.readVHDX(bm, boff); err != nil {
			return fmt.Errorf("vhdx sector bitmap of block %d: %w", i, err)
		}
	}
	s.sectorRuns(i*bs, lss, bm, int(e.n/lss), false, false)
	return nil
}
