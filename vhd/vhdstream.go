package vhd

import (
	"encoding/binary"
	"fmt"
)

// openVHD parses the footer copy and dynamic header of a dynamic or
// differencing VHD and prepares the walk over its blocks.
func (s *Stream) openVHD(head []byte) error {
	if len(head) < vhdFooterSize {
		return fmt.Errorf("%w: vhd footer copy: %d bytes", ErrTruncated, len(head))
	}
	f, err := parseVHDFooter(head)
	if err != nil {
		return err
	}
	if f.diskType == vhdTypeFixed {
		// A fixed disk whose first sector looks like a footer: its real
		// footer is at the end.
		return s.openRaw(true, true)
	}
	if f.currentSize == 0 {
		return fmt.Errorf("%w: vhd footer: current size 0", ErrEmptyDisk)
	}
	if f.dataOffset < vhdFooterSize || f.dataOffset > 1<<40 {
		return fmt.Errorf("%w: vhd footer: data offset %d", ErrCorrupt, f.dataOffset)
	}
	hdrOff := int64(f.dataOffset)
	hb := make([]byte, vhdHeaderSize)
	if err := s.src.readAt(hb, hdrOff); err != nil {
		return fmt.Errorf("vhd dynamic header: %w", err)
	}
	h, err := parseVHDHeader(hb)
	if err != nil {
		return err
	}
	need := ceilDiv(f.currentSize, h.blockSize)
	if int64(h.maxEntries) < need {
		return fmt.Errorf("%w: vhd: %d BAT entries for %d blocks", ErrCorrupt, h.maxEntries, need)
	}
	if h.maxEntries > maxBlocks {
		return fmt.Errorf("%w: vhd: %d BAT entries", ErrUnsupported, h.maxEntries)
	}
	s.info = Info{Format: FormatVHD, Type: Dynamic, VirtualSize: f.currentSize, BlockSize: h.blockSize,
		LogicalSectorSize: 512, PhysicalSectorSize: 512, DiskID: f.uniqueID}
	diff := f.diskType == vhdTypeDifferencing
	ext := []extent{{off: 0, n: vhdFooterSize, kind: extMeta}, {off: hdrOff, n: vhdHeaderSize, kind: extMeta}}
	if diff {
		s.info.Type, s.info.HasParent, s.info.ParentID = Differencing, true, h.parentID
		if h.parentName != "" {
			s.info.ParentLocators = append(s.info.ParentLocators, h.parentName)
		}
		for _, l := range h.locators {
			b := make([]byte, l.length)
			if err := s.src.readAt(b, l.offset); err != nil {
				return fmt.Errorf("vhd parent locator: %w", err)
			}
			if p := decodeLocator(l.code, b); p != "" {
				s.info.ParentLocators = append(s.info.ParentLocators, p)
			}
			ext = append(ext, extent{off: l.offset, n: l.length, kind: extMeta})
		}
	}
	batLen := roundUp(int64(h.maxEntries)*4, 512)
	s.src.memCap = defaultMemCap + batLen
	bb := make([]byte, int64(h.maxEntries)*4)
	if err := s.src.readAt(bb, h.tableOffset); err != nil {
		return fmt.Errorf("vhd BAT: %w", err)
	}
	ext = append(ext, extent{off: h.tableOffset, n: batLen, kind: extMeta})
	bat := make([]uint32, h.maxEntries)
	bitmapLen := roundUp(ceilDiv(h.blockSize/512, 8), 512)
	for i := range bat {
		bat[i] = binary.BigEndian.Uint32(bb[4*i:])
		if bat[i] == 0xFFFFFFFF {
			continue
		}
		if int64(i) >= need {
			return fmt.Errorf("%w: vhd: BAT entry %d allocated beyond the virtual size", ErrCorrupt, i)
		}
		ext = append(ext, extent{off: int64(bat[i]) * 512, n: bitmapLen + h.blockSize, kind: extBlock, idx: uint32(i)})
	}
	ext, err = sortExtents(ext)
	if err != nil {
		return err
	}
	walk := s.walk(ext, func(e extent) error { return s.vhdBlock(e, bitmapLen, diff) }, vhdFooterSize, checkVHDFooter)
	next := 0
	s.gen = func() error {
		if diff || next >= len(bat) {
			s.gen = walk
			return walk()
		}
		// Unallocated blocks of a non-differencing disk read as zero.
		for end := min(next+4096, len(bat)); next < end; next++ {
			if bat[next] == 0xFFFFFFFF && int64(next) < need {
				v := int64(next) * h.blockSize
				s.zero(v, min(h.blockSize, f.currentSize-v))
			}
		}
		return nil
	}
	return nil
}

func checkVHDFooter(b []byte) error {
	_, err := parseVHDFooter(b)
	if err != nil {
		return fmt.Errorf("trailing footer: %w", err)
	}
	return nil
}

// vhdBlock queues one block: its sector bitmap as Meta, then its sectors.
// Bitmaps are MSB-first. In a differencing disk a clear bit means "read
// the parent"; in a dynamic disk it means zero.
func (s *Stream) vhdBlock(e extent, bitmapLen int64, diff bool) error {
	bm := make([]byte, bitmapLen)
	if err := s.src.readAt(bm, e.off); err != nil {
		return fmt.Errorf("vhd block %d bitmap: %w", e.idx, err)
	}
	s.metaTo(e.off + bitmapLen)
	bs := s.info.BlockSize
	s.sectorRuns(int64(e.idx)*bs, 512, bm, int(bs/512), true, !diff)
	return nil
}

// sectorRuns queues the data area of a block at s.cur whose virtual offset
// is vbase: present sectors as Payload, absent ones as Meta (plus Zero when
// absentZero). Anything past the virtual size is Meta.
func (s *Stream) sectorRuns(vbase, ss int64, bm []byte, nsec int, msb, absentZero bool) {
	vs := s.info.VirtualSize
	bitRuns(bm, nsec, msb, func(a, b int, set bool) {
		v, n := vbase+int64(a)*ss, int64(b-a)*ss
		in := max(0, min(n, vs-v))
		if set {
			s.payload(in, v)
		} else {
			s.metaTo(s.cur + in)
			if absentZero {
				s.zero(v, in)
			}
		}
		s.metaTo(s.cur + n - in)
	})
}
