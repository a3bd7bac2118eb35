package vhd

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
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

// VHDSize is the exact number of bytes WriteVHD writes for d, or -1 when
// d is too large for a VHD.
func VHDSize(d Disk) int64 {
	size := roundUp(d.Size(), 512)
	if size > vhdMaxWrite {
		return -1
	}
	n := ceilDiv(size, vhdWriteBlock)
	alloc := countTrue(allocatedBlocks(d, size, vhdWriteBlock))
	return vhdFooterSize + vhdHeaderSize + roundUp(n*4, 512) + alloc*(512+vhdWriteBlock) + vhdFooterSize
}

// WriteVHD writes d as a dynamic VHD to w, streamed, leaving blocks that
// are not Allocated unallocated. It returns the bytes written.
func WriteVHD(w io.Writer, d Disk) (int64, error) {
	size := roundUp(d.Size(), 512)
	if size > vhdMaxWrite {
		return 0, fmt.Errorf("%w: %d bytes is too large for a VHD", ErrUnsupported, size)
	}
	alloc := allocatedBlocks(d, size, vhdWriteBlock)
	n := int64(len(alloc))
	batLen := roundUp(n*4, 512)
	footer := vhdFooterBytes(size, randomGUID())
	c := &countWriter{w: w}
	c.Write(footer)

	h := make([]byte, vhdHeaderSize)
	copy(h, vhdSparseCookie)
	binary.BigEndian.PutUint64(h[8:], ^uint64(0))
	binary.BigEndian.PutUint64(h[16:], vhdFooterSize+vhdHeaderSize)
	binary.BigEndian.PutUint32(h[24:], 0x00010000)
	binary.BigEndian.PutUint32(h[28:], uint32(n))
	binary.BigEndian.PutUint32(h[32:], vhdWriteBlock)
	binary.BigEndian.PutUint32(h[36:], vhdChecksum(h, 36))
	c.Write(h)

	bat := make([]byte, batLen)
	next := (vhdFooterSize + vhdHeaderSize + batLen) / 512
	for i, a := range alloc {
		e := uint32(0xFFFFFFFF)
		if a {
			e = uint32(next)
			next += (512 + vhdWriteBlock) / 512
		}
		binary.BigEndian.PutUint32(bat[4*i:], e)
	}
	for i := n * 4; i < batLen; i++ {
		bat[i] = 0xFF
	}
	c.Write(bat)

	bitmap := make([]byte, 512)
	for i := range bitmap {
		bitmap[i] = 0xFF
	}
	buf := make([]byte, vhdWriteBlock)
	for i, a := range alloc {
		if a {
			c.Write(bitmap)
			c.copyBlock(d, int64(i)*vhdWriteBlock, vhdWriteBlock, buf)
		}
	}
	c.Write(footer)
	return c.n, c.err
}

func vhdFooterBytes(size int64, id guid) []byte {
	f := make([]byte, vhdFooterSize)
	copy(f, vhdCookie)
	binary.BigEndian.PutUint32(f[8:], 2) // features: reserved bit
	binary.BigEndian.PutUint32(f[12:], 0x00010000)
	binary.BigEndian.PutUint64(f[16:], vhdFooterSize)
	ts := time.Now().Unix() - time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	binary.BigEndian.PutUint32(f[24:], uint32(ts))
	copy(f[28:], "win ")
	binary.BigEndian.PutUint32(f[32:], 0x000A0000)
	copy(f[36:], "Wi2k")
	binary.BigEndian.PutUint64(f[40:], uint64(size))
	binary.BigEndian.PutUint64(f[48:], uint64(size))
	c, h, s := vhdGeometry(size / 512)
	binary.BigEndian.PutUint16(f[56:], c)
	f[58], f[59] = h, s
	binary.BigEndian.PutUint32(f[60:], vhdTypeDynamic)
	copy(f[68:], id[:])
	binary.BigEndian.PutUint32(f[64:], vhdChecksum(f, 64))
	return f
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
