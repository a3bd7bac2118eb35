package vhd

import (
	"encoding/binary"
	"fmt"
	"io"
)

// mapVHD maps a dynamic VHD for random access from its footer copy,
// dynamic header and BAT, read with ReadAt: no payload is read. A
// differencing disk is ErrUnsupported (it needs its parent). Sector
// bitmaps are not read: a dynamic disk's allocated blocks are read whole,
// as the stream path does.
func mapVHD(f io.ReaderAt) (*Image, error) {
	fb := make([]byte, vhdFooterSize)
	if _, err := f.ReadAt(fb, 0); err != nil {
		return nil, fmt.Errorf("%w: vhd footer copy: %w", ErrTruncated, err)
	}
	ft, err := parseVHDFooter(fb)
	if err != nil {
		return nil, err
	}
	if ft.diskType != vhdTypeDynamic {
		return nil, fmt.Errorf("%w: vhd of type %d", ErrUnsupported, ft.diskType)
	}
	if ft.currentSize == 0 {
		return nil, fmt.Errorf("%w: vhd footer: current size 0", ErrEmptyDisk)
	}
	if ft.dataOffset < vhdFooterSize || ft.dataOffset > 1<<40 {
		return nil, fmt.Errorf("%w: vhd footer: data offset %d", ErrCorrupt, ft.dataOffset)
	}
	hb := make([]byte, vhdHeaderSize)
	if _, err := f.ReadAt(hb, int64(ft.dataOffset)); err != nil {
		return nil, fmt.Errorf("%w: vhd dynamic header: %w", ErrTruncated, err)
	}
	h, err := parseVHDHeader(hb)
	if err != nil {
		return nil, err
	}
	blocks := ceilDiv(ft.currentSize, h.blockSize)
	if int64(h.maxEntries) < blocks || blocks > maxBlocks {
		return nil, fmt.Errorf("%w: vhd: %d BAT entries for %d blocks", ErrCorrupt, h.maxEntries, blocks)
	}
	bat := make([]byte, blocks*4)
	if _, err := f.ReadAt(bat, h.tableOffset); err != nil {
		return nil, fmt.Errorf("%w: vhd BAT: %w", ErrTruncated, err)
	}
	bitmap := roundUp(ceilDiv(h.blockSize/512, 8), 512)
	img := &Image{f: f, info: Info{Format: FormatVHD, Type: Dynamic, VirtualSize: ft.currentSize,
		BlockSize: h.blockSize, LogicalSectorSize: 512, PhysicalSectorSize: 512, DiskID: ft.uniqueID}}
	for b := int64(0); b < blocks; b++ {
		sec := binary.BigEndian.Uint32(bat[4*b:])
		if sec == 0xFFFFFFFF {
			continue
		}
		n := min(h.blockSize, ft.currentSize-b*h.blockSize)
		img.ext = append(img.ext, Piece{Kind: Payload, FileOff: int64(sec)*512 + bitmap, VOff: b * h.blockSize, Len: n})
	}
	return img, nil
}
