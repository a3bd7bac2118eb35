package vhd

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The VHDX writer lays out, like qemu-img: the header area (file
// identifier, two headers, two region tables) in the first MiB, an empty
// 1 MiB log at 1 MiB, the metadata region at 2 MiB, the BAT at 3 MiB, then
// the allocated blocks, each FULLY_PRESENT. Blocks that are not Allocated
// are NOT_PRESENT, which reads as zero in a disk without parent. The
// virtual size is the disk size rounded up to 512 bytes.

const (
	vhdxWriteBlock = 32 * mib
	vhdxWriteLSS   = 512
	vhdxWritePSS   = 4096
	vhdxLogOff     = 1 * mib
	vhdxMetaOff    = 2 * mib
	vhdxBATOff     = 3 * mib
)

func vhdxWriteLayout(d Disk) (size, blocks, entries, batLen int64) {
	size = roundUp(d.Size(), vhdxWriteLSS)
	blocks = ceilDiv(size, vhdxWriteBlock)
	cr := int64(1<<23) * vhdxWriteLSS / vhdxWriteBlock
	entries = blocks
	if blocks > 0 {
		entries += (blocks - 1) / cr
	}
	return size, blocks, entries, roundUp(max(entries*8, 1), mib)
}

// VHDXSize is the exact number of bytes WriteVHDX writes for d.
func VHDXSize(d Disk) int64 {
	size, _, _, batLen := vhdxWriteLayout(d)
	return vhdxBATOff + batLen + countTrue(allocatedBlocks(d, size, vhdxWriteBlock))*vhdxWriteBlock
}

// WriteVHDX writes d as a dynamic VHDX (32 MiB blocks, 512-byte logical and
// 4096-byte physical sectors, no log) to w, streamed. It returns the bytes
// written.
func WriteVHDX(w io.Writer, d Disk) (int64, error) {
	size, blocks, entries, batLen := vhdxWriteLayout(d)
	if size == 0 || size > vhdxMaxSize {
		return 0, fmt.Errorf("%w: a VHDX of %d bytes", ErrUnsupported, size)
	}
	alloc := allocatedBlocks(d, size, vhdxWriteBlock)
	c := &countWriter{w: w}

	head := make([]byte, vhdxHeaderArea)
	copy(head, "vhdxfile")
	copy(head[8:], utf16LE("shadowvault"))
	fileGUID, dataGUID := randomGUID(), randomGUID()
	for i, off := range []int{vhdxHeader1, vhdxHeader2} {
		h := head[off : off+vhdxHeaderSize]
		copy(h, "head")
		binary.LittleEndian.PutUint64(h[8:], uint64(i+1))
		copy(h[16:], fileGUID[:])
		copy(h[32:], dataGUID[:])
		binary.LittleEndian.PutUint16(h[66:], 1)
		binary.LittleEndian.PutUint32(h[68:], mib)
		binary.LittleEndian.PutUint64(h[72:], vhdxLogOff)
		binary.LittleEndian.PutUint32(h[4:], vhdxCRC(h))
	}
	for _, off := range []int{vhdxRegion1, vhdxRegion2} {
		r := head[off : off+vhdxRegionSize]
		copy(r, "regi")
		binary.LittleEndian.PutUint32(r[8:], 2)
		putRegion(r[16:], guidBATRegion, vhdxBATOff, batLen)
		putRegion(r[48:], guidMetadataRegion, vhdxMetaOff, mib)
		binary.LittleEndian.PutUint32(r[4:], vhdxCRC(r))
	}
	c.Write(head)
	c.zeroFill(mib) // the log
	c.Write(vhdxMetadata(size, randomGUID()))

	bat := make([]byte, batLen)
	next := int64(vhdxBATOff+batLen) / mib
	cr := int64(1<<23) * vhdxWriteLSS / vhdxWriteBlock
	for i := int64(0); i < blocks; i++ {
		if alloc[i] {
			binary.LittleEndian.PutUint64(bat[8*(i+i/cr):], uint64(next)<<20|stFull)
			next += vhdxWriteBlock / mib
		}
	}
	_ = entries
	c.Write(bat)

	buf := make([]byte, 4*mib)
	for i, a := range alloc {
		if a {
			c.copyBlock(d, int64(i)*vhdxWriteBlock, vhdxWriteBlock, buf)
		}
	}
	return c.n, c.err
}

func putRegion(b []byte, id guid, off, n int64) {
	copy(b, id[:])
	binary.LittleEndian.PutUint64(b[16:], uint64(off))
	binary.LittleEndian.PutUint32(b[24:], uint32(n))
	binary.LittleEndian.PutUint32(b[28:], 1) // required
}

// vhdxMetadata builds the 1 MiB metadata region.
func vhdxMetadata(size int64, id guid) []byte {
	m := make([]byte, mib)
	copy(m, "metadata")
	items := []struct {
		id    guid
		data  []byte
		flags uint32
	}{
		{guidFileParameters, le32s(vhdxWriteBlock, 0), 4},
		{guidVirtualSize, le64(uint64(size)), 6},
		{guidPage83, id[:], 6},
		{guidLogicalSector, le32s(vhdxWriteLSS), 6},
		{guidPhysicalSector, le32s(vhdxWritePSS), 6},
	}
	binary.LittleEndian.PutUint16(m[10:], uint16(len(items)))
	off := 64 << 10
	for i, it := range items {
		e := m[32+32*i:]
		copy(e, it.id[:])
		binary.LittleEndian.PutUint32(e[16:], uint32(off))
		binary.LittleEndian.PutUint32(e[20:], uint32(len(it.data)))
		binary.LittleEndian.PutUint32(e[24:], it.flags)
		copy(m[off:], it.data)
		off += len(it.data)
	}
	return m
}

func le32s(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}
