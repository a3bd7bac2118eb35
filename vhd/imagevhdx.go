package vhd

import (
	"encoding/binary"
	"fmt"
	"io"
)

// mapVHDX maps a VHDX for random access from its headers, metadata and BAT
// alone, read with ReadAt: no payload is read. A non-empty log or a parent
// makes it ErrUnsupported (the stream path handles both).
func mapVHDX(f io.ReaderAt) (*Image, error) {
	hdr := make([]byte, vhdxRegion2+vhdxRegionSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("%w: vhdx headers: %w", ErrTruncated, err)
	}
	h, err := pickHeader(hdr[vhdxHeader1:], hdr[vhdxHeader2:])
	if err != nil {
		return nil, fmt.Errorf("vhdx: %w", err)
	}
	if !h.logGUID.isZero() {
		return nil, fmt.Errorf("%w: a VHDX with a log to replay cannot be mapped", ErrUnsupported)
	}
	batR, metaR, err := parseRegions(hdr[vhdxRegion1:])
	if err != nil {
		var err2 error
		if batR, metaR, err2 = parseRegions(hdr[vhdxRegion2:]); err2 != nil {
			return nil, err
		}
	}
	if metaR.n > vhdxMaxMetadata {
		return nil, fmt.Errorf("%w: vhdx metadata region of %d bytes", ErrUnsupported, metaR.n)
	}
	mb := make([]byte, metaR.n)
	if _, err := f.ReadAt(mb, metaR.off); err != nil {
		return nil, fmt.Errorf("%w: vhdx metadata: %w", ErrTruncated, err)
	}
	m, err := parseVHDXMeta(mb)
	if err != nil {
		return nil, err
	}
	if m.hasParent {
		return nil, fmt.Errorf("%w: a differencing disk needs its parent", ErrUnsupported)
	}
	ratio := (int64(1) << 23) * int64(m.lss) / m.blockSize
	blocks := ceilDiv(m.virtualSize, m.blockSize)
	if blocks > maxBlocks || ratio <= 0 {
		return nil, fmt.Errorf("%w: vhdx with %d blocks", ErrUnsupported, blocks)
	}
	total := blocks + (blocks-1)/ratio
	if total*8 > batR.n {
		return nil, fmt.Errorf("%w: vhdx BAT region of %d bytes for %d entries", ErrCorrupt, batR.n, total)
	}
	bat := make([]byte, total*8)
	if _, err := f.ReadAt(bat, batR.off); err != nil {
		return nil, fmt.Errorf("%w: vhdx BAT: %w", ErrTruncated, err)
	}
	img := &Image{f: f, info: Info{Format: FormatVHDX, Type: Dynamic, VirtualSize: m.virtualSize,
		BlockSize: m.blockSize, LogicalSectorSize: m.lss, PhysicalSectorSize: m.pss, DiskID: m.diskID,
		DataWriteID: h.dataWrite}}
	for b := int64(0); b < blocks; b++ {
		e := binary.LittleEndian.Uint64(bat[8*(b+b/ratio):])
		switch e & 7 {
		case stFull:
			n := min(m.blockSize, m.virtualSize-b*m.blockSize)
			img.ext = append(img.ext, Piece{Kind: Payload, FileOff: int64(e>>20) << 20, VOff: b * m.blockSize, Len: n})
		case stPartial:
			return nil, fmt.Errorf("%w: vhdx block %d partially present without a parent", ErrCorrupt, b)
		}
	}
	return img, nil
}
