package vhd

import (
	"fmt"
	"io"
)

// rawChunk is the length of Payload pieces of a raw stream. Adjacent pieces
// are contiguous; callers merge them into extents.
const rawChunk = 4 << 20

// openRaw prepares a raw stream. With detect, a valid fixed-VHD footer in
// the last 512 bytes makes it a fixed VHD; with mustVHD, its absence is a
// format mismatch.
func (s *Stream) openRaw(detect, mustVHD bool) error {
	s.info = Info{Format: FormatRaw, Type: Fixed, LogicalSectorSize: 512, PhysicalSectorSize: 512}
	if mustVHD {
		s.info.Format = FormatVHD
	}
	hold := int64(0)
	if detect {
		hold = vhdFooterSize
	}
	s.gen = func() error {
		if err := s.src.fill(s.cur + rawChunk + hold); err != nil {
			return err
		}
		if s.src.pos >= s.cur+rawChunk+hold {
			s.file(Payload, rawChunk, s.cur)
			return nil
		}
		total := s.src.pos
		if detect && total >= vhdFooterSize && total-vhdFooterSize >= s.cur {
			last := make([]byte, vhdFooterSize)
			if err := s.src.readAt(last, total-vhdFooterSize); err != nil {
				return err
			}
			if f, err := parseVHDFooter(last); err == nil && f.diskType == vhdTypeFixed && f.currentSize == total-vhdFooterSize {
				s.file(Payload, total-vhdFooterSize-s.cur, s.cur)
				s.metaTo(total)
				s.info.Format, s.info.VirtualSize, s.info.DiskID = FormatVHD, f.currentSize, f.uniqueID
				s.gen = func() error { return io.EOF }
				return nil
			}
		}
		if mustVHD {
			return fmt.Errorf("%w: no dynamic vhd header and no fixed vhd footer", ErrFormatMismatch)
		}
		s.file(Payload, total-s.cur, s.cur)
		s.info.Format, s.info.VirtualSize = FormatRaw, total
		s.gen = func() error { return io.EOF }
		if len(s.queue) == 0 {
			return io.EOF
		}
		return nil
	}
	return nil
}
