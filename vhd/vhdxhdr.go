package vhd

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// VHDX structures per [MS-VHDX] 2.2. All integers are little-endian.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	mib             = 1 << 20
	vhdxHeader1     = 64 << 10
	vhdxHeader2     = 128 << 10
	vhdxRegion1     = 192 << 10
	vhdxRegion2     = 256 << 10
	vhdxHeaderSize  = 4 << 10
	vhdxRegionSize  = 64 << 10
	vhdxHeaderArea  = 1 * mib
	vhdxMaxSize     = 64 << 40
	vhdxMaxMetadata = 16 * mib
	vhdxMaxLog      = 64 * mib // larger logs are not replayed (ErrUnsupported)
)

// crcOK checks the CRC-32C of b computed with the 4 bytes at 4 zeroed.
func crcOK(b []byte) bool {
	return binary.LittleEndian.Uint32(b[4:]) == vhdxCRC(b)
}

func vhdxCRC(b []byte) uint32 {
	c := crc32.Update(0, castagnoli, b[:4])
	c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
	return crc32.Update(c, castagnoli, b[8:])
}

type vhdxHeader struct {
	seq       uint64
	dataWrite guid // DataWriteGuid: what a child's parent_linkage names
	logGUID   guid
	logLength int64
	logOffset int64
}

func parseVHDXHeader(b []byte) (vhdxHeader, error) {
	var h vhdxHeader
	if string(b[:4]) != "head" {
		return h, fmt.Errorf("%w: vhdx header: bad signature", ErrCorrupt)
	}
	if !crcOK(b[:vhdxHeaderSize]) {
		return h, fmt.Errorf("%w: vhdx header: bad checksum", ErrCorrupt)
	}
	h.seq = binary.LittleEndian.Uint64(b[8:])
	copy(h.dataWrite[:], b[32:48])
	copy(h.logGUID[:], b[48:64])
	if v := binary.LittleEndian.Uint16(b[66:]); v != 1 {
		return h, fmt.Errorf("%w: vhdx header: version %d", ErrUnsupported, v)
	}
	h.logLength = int64(binary.LittleEndian.Uint32(b[68:]))
	lo := binary.LittleEndian.Uint64(b[72:])
	if lo%mib != 0 || h.logLength%mib != 0 || lo > vhdxMaxSize*2 || (h.logLength > 0 && lo < vhdxHeaderArea) {
		return h, fmt.Errorf("%w: vhdx header: log at %d, %d bytes", ErrCorrupt, lo, h.logLength)
	}
	h.logOffset = int64(lo)
	return h, nil
}

// pickHeader returns the valid header with the higher sequence number.
func pickHeader(h1, h2 []byte) (vhdxHeader, error) {
	a, errA := parseVHDXHeader(h1)
	b, errB := parseVHDXHeader(h2)
	switch {
	case errA != nil && errB != nil:
		return a, fmt.Errorf("both headers invalid: %w; %v", errA, errB)
	case errA != nil:
		return b, nil
	case errB != nil:
		return a, nil
	case b.seq > a.seq:
		return b, nil
	}
	return a, nil
}

type region struct{ off, n int64 }

// parseRegions reads a region table and returns the BAT and metadata
// regions.
func parseRegions(b []byte) (bat, meta region, err error) {
	if string(b[:4]) != "regi" {
		return bat, meta, fmt.Errorf("%w: vhdx region table: bad signature", ErrCorrupt)
	}
	if !crcOK(b[:vhdxRegionSize]) {
		return bat, meta, fmt.Errorf("%w: vhdx region table: bad checksum", ErrCorrupt)
	}
	n := binary.LittleEndian.Uint32(b[8:])
	if n > 2047 {
		return bat, meta, fmt.Errorf("%w: vhdx region table: %d entries", ErrCorrupt, n)
	}
	for i := 0; i < int(n); i++ {
		e := b[16+32*i:]
		var id guid
		copy(id[:], e[:16])
		r := region{off: int64(binary.LittleEndian.Uint64(e[16:])), n: int64(binary.LittleEndian.Uint32(e[24:]))}
		if uint64(r.off) > vhdxMaxSize*2 || r.off < vhdxHeaderArea || r.off%mib != 0 || r.n%mib != 0 || r.n == 0 {
			return bat, meta, fmt.Errorf("%w: vhdx region %d at %d, %d bytes", ErrCorrupt, i, r.off, r.n)
		}
		switch id {
		case guidBATRegion:
			bat = r
		case guidMetadataRegion:
			meta = r
		default:
			if binary.LittleEndian.Uint32(e[28:])&1 != 0 {
				return bat, meta, fmt.Errorf("%w: vhdx: unknown required region", ErrUnsupported)
			}
		}
	}
	if bat.n == 0 || meta.n == 0 {
		return bat, meta, fmt.Errorf("%w: vhdx: BAT or metadata region missing", ErrCorrupt)
	}
	return bat, meta, nil
}
