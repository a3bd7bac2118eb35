package vhd

import (
	"encoding/binary"
	"fmt"
)

// VHD footer and dynamic disk header, per the "Virtual Hard Disk Image
// Format Specification" (Microsoft, 2006). All integers are big-endian.

const (
	vhdCookie       = "conectix"
	vhdSparseCookie = "cxsparse"
	vhdFooterSize   = 512
	vhdHeaderSize   = 1024

	vhdTypeFixed        = 2
	vhdTypeDynamic      = 3
	vhdTypeDifferencing = 4

	// vhdMaxSize is the largest disk we accept (VHD's own limit is 2040 GiB;
	// some tools go slightly past it).
	vhdMaxSize = 2 << 40
)

type vhdFooter struct {
	dataOffset  uint64
	creatorApp  string
	currentSize int64
	cyls        uint16
	heads       uint8
	spt         uint8
	diskType    uint32
	uniqueID    [16]byte
}

// vhdChecksum is the one's complement of the byte sum, skipping the 4
// checksum bytes at skip.
func vhdChecksum(b []byte, skip int) uint32 {
	var sum uint32
	for i, c := range b {
		if i >= skip && i < skip+4 {
			continue
		}
		sum += uint32(c)
	}
	return ^sum
}

func parseVHDFooter(b []byte) (vhdFooter, error) {
	var f vhdFooter
	if len(b) < vhdFooterSize || string(b[:8]) != vhdCookie {
		return f, fmt.Errorf("%w: vhd footer: bad cookie", ErrCorrupt)
	}
	b = b[:vhdFooterSize]
	if got, want := binary.BigEndian.Uint32(b[64:]), vhdChecksum(b, 64); got != want {
		return f, fmt.Errorf("%w: vhd footer: checksum %#x, want %#x", ErrCorrupt, got, want)
	}
	f.dataOffset = binary.BigEndian.Uint64(b[16:])
	f.creatorApp = string(b[28:32])
	size := binary.BigEndian.Uint64(b[48:])
	if size > vhdMaxSize {
		return f, fmt.Errorf("%w: vhd footer: size %d too large", ErrUnsupported, size)
	}
	f.currentSize = int64(size)
	f.cyls = binary.BigEndian.Uint16(b[56:])
	f.heads = b[58]
	f.spt = b[59]
	f.diskType = binary.BigEndian.Uint32(b[60:])
	copy(f.uniqueID[:], b[68:84])
	switch f.diskType {
	case vhdTypeFixed, vhdTypeDynamic, vhdTypeDifferencing:
	default:
		return f, fmt.Errorf("%w: vhd footer: disk type %d", ErrUnsupported, f.diskType)
	}
	return f, nil
}

type vhdLocator struct {
	code   uint32
	length int64
	offset int64
}

type vhdHeader struct {
	tableOffset int64
	maxEntries  uint32
	blockSize   int64
	parentID    [16]byte
	parentName  string
	locators    []vhdLocator
}

func parseVHDHeader(b []byte) (vhdHeader, error) {
	var h vhdHeader
	if string(b[:8]) != vhdSparseCookie {
		return h, fmt.Errorf("%w: vhd dynamic header: bad cookie", ErrCorrupt)
	}
	if got, want := binary.BigEndian.Uint32(b[36:]), vhdChecksum(b[:vhdHeaderSize], 36); got != want {
		return h, fmt.Errorf("%w: vhd dynamic header: checksum %#x, want %#x", ErrCorrupt, got, want)
	}
	to := binary.BigEndian.Uint64(b[16:])
	if to > 1<<62 || to%512 != 0 {
		return h, fmt.Errorf("%w: vhd dynamic header: table offset %d", ErrCorrupt, to)
	}
	h.tableOffset = int64(to)
	h.maxEntries = binary.BigEndian.Uint32(b[28:])
	bs := binary.BigEndian.Uint32(b[32:])
	if bs < 512 || bs > 256<<20 || bs&(bs-1) != 0 {
		return h, fmt.Errorf("%w: vhd dynamic header: block size %d", ErrCorrupt, bs)
	}
	h.blockSize = int64(bs)
	copy(h.parentID[:], b[40:56])
	h.parentName = utf16String(b[64:576], true)
	for i := 0; i < 8; i++ {
		e := b[576+24*i:]
		code := binary.BigEndian.Uint32(e)
		if code == 0 {
			continue
		}
		l := binary.BigEndian.Uint32(e[8:])
		off := binary.BigEndian.Uint64(e[16:])
		if l == 0 {
			continue
		}
		if l > 64<<10 || off > 1<<62 {
			return h, fmt.Errorf("%w: vhd parent locator %d: length %d at %d", ErrCorrupt, i, l, off)
		}
		h.locators = append(h.locators, vhdLocator{code: code, length: int64(l), offset: int64(off)})
	}
	return h, nil
}

// decodeLocator turns a VHD parent locator into a path ("" when the
// platform code is not a path).
func decodeLocator(code uint32, b []byte) string {
	switch string([]byte{byte(code >> 24), byte(code >> 16), byte(code >> 8), byte(code)}) {
	case "W2ru", "W2ku":
		return utf16String(b, false)
	case "MacX", "Wi2r", "Wi2k":
		return trimNUL(string(b))
	}
	return ""
}

func trimNUL(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i]
		}
	}
	return s
}
