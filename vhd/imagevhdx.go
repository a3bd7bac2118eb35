package vhd

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
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
	var ext []extent
	for b := int64(0); b < blocks; b++ {
		e := binary.LittleEndian.Uint64(bat[8*(b+b/ratio):])
		switch e & 7 {
		case stFull:
			x, err := placeVHDX(extent{n: min(m.blockSize, m.virtualSize-b*m.blockSize), kind: extBlock, idx: uint32(b)}, e, ratio)
			if err != nil {
				return nil, err
			}
			ext = append(ext, x)
		case stPartial:
			return nil, fmt.Errorf("%w: vhdx block %d partially present without a parent", ErrCorrupt, b)
		}
	}
	if err := checkVHDXPlaces(vhdxFixed(h, batR, metaR), ext, ratio); err != nil {
		return nil, err
	}
	if size := readerSize(f); size >= 0 {
		if err := checkVHDXInFile(ext, ratio, size); err != nil {
			return nil, err
		}
	}
	for _, x := range ext {
		img.ext = append(img.ext, Piece{Kind: Payload, FileOff: x.off, VOff: int64(x.idx) * m.blockSize, Len: x.n})
	}
	return img, nil
}

// readerSize returns the size of f if it can tell (a regular file, or a
// reader with a Size method such as io.SectionReader), else -1.
func readerSize(f io.ReaderAt) int64 {
	switch v := f.(type) {
	case interface{ Size() int64 }:
		return v.Size()
	case interface{ Stat() (os.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return -1
}
