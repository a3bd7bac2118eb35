package vhd

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The VHD writer writes a dynamic disk with 2 MiB blocks: footer copy,
// dynamic header, BAT, the allocated blocks (sector bitmap all ones, then
// the data) and the footer. The current size is the disk size rounded up
// to 512 bytes. The geometry is computed as the specification says, and the
// creator application is "win " (Hyper-V): Hyper-V always uses the current
// size, and qemu uses the current size instead of the CHS geometry for
// exactly that creator (block/vpc.c, vpc_open), so both see the exact size.

const (
	vhdWriteBlock = 2 << 20
	vhdMaxWrite   = 2040 << 30
)

// vhdBitmap is the sector bitmap of every written block: all present.
var vhdBitmap = bytes512(0xFF)

// VHDSize is the exact number of bytes WriteVHD writes for d, or -1 when
// d is too large for a VHD.
func VHDSize(d Disk) int64 {
	o, err := newVHDOutput(d, ImageIDs{})
	if err != nil {
		return -1
	}
	return o.Size()
}

// WriteVHD writes d as a dynamic VHD to w, streamed, leaving blocks that
// are not Allocated unallocated: the bytes of NewVHDOutput(d, ids). It
// returns the bytes written.
func WriteVHD(w io.Writer, d Disk, ids ImageIDs) (int64, error) {
	o, err := NewVHDOutput(d, ids)
	if err != nil {
		return 0, err
	}
	return o.WriteTo(w)
}

// NewVHDOutput lays out d as a dynamic VHD with the identity ids (a zero
// GUID or time is filled in at random, or with the current time). A disk
// of more than 2040 GiB is ErrUnsupported.
func NewVHDOutput(d Disk, ids ImageIDs) (*Output, error) {
	return newVHDOutput(d, ids.filled())
}

func newVHDOutput(d Disk, ids ImageIDs) (*Output, error) {
	size := roundUp(d.Size(), 512)
	if size > vhdMaxWrite {
		return nil, fmt.Errorf("%w: %d bytes is too large for a VHD", ErrUnsupported, size)
	}
	n := ceilDiv(size, vhdWriteBlock)
	batLen := roundUp(n*4, 512)
	blocks := allocatedList(d, size, vhdWriteBlock)
	footer := vhdFooterBytes(size, ids)
	o := &Output{d: d}
	o.addMeta(footer)

	h := make([]byte, vhdHeaderSize)
	copy(h, vhdSparseCookie)
	binary.BigEndian.PutUint64(h[8:], ^uint64(0))
	binary.BigEndian.PutUint64(h[16:], vhdFooterSize+vhdHeaderSize)
	binary.BigEndian.PutUint32(h[24:], 0x00010000)
	binary.BigEndian.PutUint32(h[28:], uint32(n))
	binary.BigEndian.PutUint32(h[32:], vhdWriteBlock)
	binary.BigEndian.PutUint32(h[36:], vhdChecksum(h, 36))
	o.addMeta(h)

	bat := make([]byte, batLen)
	for i := range bat {
		bat[i] = 0xFF
	}
	next := (vhdFooterSize + vhdHeaderSize + batLen) / 512
	for _, b := range blocks {
		binary.BigEndian.PutUint32(bat[4*b:], uint32(next))
		next += (512 + vhdWriteBlock) / 512
	}
	o.addMeta(bat)
	o.addData(blocks, vhdWriteBlock, vhdBitmap)
	o.addMeta(footer)
	return o, nil
}

func vhdFooterBytes(size int64, ids ImageIDs) []byte {
	f := make([]byte, vhdFooterSize)
	copy(f, vhdCookie)
	binary.BigEndian.PutUint32(f[8:], 2) // features: reserved bit
	binary.BigEndian.PutUint32(f[12:], 0x00010000)
	binary.BigEndian.PutUint64(f[16:], vhdFooterSize)
	copy(f[24:], vhdTimestamp(ids.Time))
	copy(f[28:], "win ")
	binary.BigEndian.PutUint32(f[32:], 0x000A0000)
	copy(f[36:], "Wi2k")
	binary.BigEndian.PutUint64(f[40:], uint64(size))
	binary.BigEndian.PutUint64(f[48:], uint64(size))
	c, h, s := vhdGeometry(size / 512)
	binary.BigEndian.PutUint16(f[56:], c)
	f[58], f[59] = h, s
	binary.BigEndian.PutUint32(f[60:], vhdTypeDynamic)
	copy(f[68:], ids.Disk[:])
	binary.BigEndian.PutUint32(f[64:], vhdChecksum(f, 64))
	return f
}

func bytes512(c byte) []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = c
	}
	return b
}

// vhdGeometry is the CHS algorithm of the VHD specification, appendix.
func vhdGeometry(sectors int64) (cyl uint16, heads, spt uint8) {
	sectors = min(sectors, 65535*16*255)
	var h, s, cth int64
	if sectors >= 65535*16*63 {
		s, h = 255, 16
		cth = sectors / s
	} else {
		s = 17
		cth = sectors / s
		h = max((cth+1023)/1024, 4)
		if cth >= h*1024 || h > 16 {
			s, h = 31, 16
			cth = sectors / s
		}
		if cth >= h*1024 {
			s, h = 63, 16
			cth = sectors / s
		}
	}
	return uint16(cth / h), uint8(h), uint8(s)
}
