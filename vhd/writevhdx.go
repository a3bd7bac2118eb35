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

// vhdxChunkRatio is the number of payload blocks per sector bitmap
// block in the BAT.
const vhdxChunkRatio = int64(1<<23) * vhdxWriteLSS / vhdxWriteBlock

// VHDXSize is the exact number of bytes WriteVHDX writes for d (0 when d
// has no VHDX: empty, or over 64 TiB).
func VHDXSize(d Disk) int64 {
	o, err := newVHDXOutput(d, ImageIDs{})
	if err != nil {
		return 0
	}
	return o.Size()
}

// WriteVHDX writes d as a dynamic VHDX (32 MiB blocks, 512-byte logical and
// 4096-byte physical sectors, no log) to w, streamed: the bytes of
// NewVHDXOutput(d, ids). It returns the bytes written.
func WriteVHDX(w io.Writer, d Disk, ids ImageIDs) (int64, error) {
	o, err := NewVHDXOutput(d, ids)
	if err != nil {
		return 0, err
	}
	return o.WriteTo(w)
}

// NewVHDXOutput lays out d as a dynamic VHDX with the identity ids (a zero
// GUID is filled in at random). A disk of size 0 is ErrEmptyDisk, one
// over 64 TiB ErrUnsupported.
func NewVHDXOutput(d Disk, ids ImageIDs) (*Output, error) {
	return newVHDXOutput(d, ids.filled())
}

func newVHDXOutput(d Disk, ids ImageIDs) (*Output, error) {
	size := roundUp(d.Size(), vhdxWriteLSS)
	if size == 0 {
		return nil, fmt.Errorf("%w: a VHDX of 0 bytes", ErrEmptyDisk)
	}
	if size > vhdxMaxSize {
		return nil, fmt.Errorf("%w: a VHDX of %d bytes", ErrUnsupported, size)
	}
	blocks := ceilDiv(size, vhdxWriteBlock)
	entries := blocks + (blocks-1)/vhdxChunkRatio
	batLen := roundUp(entries*8, mib)
	alloc := allocatedList(d, size, vhdxWriteBlock)
	o := &Output{d: d}
	o.addMeta(vhdxHeaderBytes(ids, batLen))
	o.addZeros(mib) // the log
	o.addMeta(vhdxMetadata(size, ids.Disk))

	bat := make([]byte, entries*8)
	next := int64(vhdxBATOff+batLen) / mib
	for _, i := range alloc {
		j := int64(i) + int64(i)/vhdxChunkRatio
		binary.LittleEndian.PutUint64(bat[8*j:], uint64(next)<<20|stFull)
		next += vhdxWriteBlock / mib
	}
	o.addMeta(bat)
	o.addZeros(batLen - entries*8)
	o.addData(alloc, vhdxWriteBlock, nil)
	return o, nil
}

// vhdxHeaderBytes builds the 1 MiB header area: the file identifier, two
// headers and two region tables.
func vhdxHeaderBytes(ids ImageIDs, batLen int64) []byte {
	head := make([]byte, vhdxHeaderArea)
	copy(head, "vhdxfile")
	copy(head[8:], utf16LE("shadowvault"))
	for i, off := range []int{vhdxHeader1, vhdxHeader2} {
		h := head[off : off+vhdxHeaderSize]
		copy(h, "head")
		binary.LittleEndian.PutUint64(h[8:], uint64(i+1))
		copy(h[16:], ids.FileWrite[:])
		copy(h[32:], ids.DataWrite[:])
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
	return head
}

func putRegion(b []byte, id guid, off, n int64) {
	copy(b, id[:])
	binary.LittleEndian.PutUint64(b[16:], uint64(off))
	binary.LittleEndian.PutUint32(b[24:], uint32(n))
	binary.LittleEndian.PutUint32(b[28:], 1) // required
}

// vhdxMetadata builds the 1 MiB metadata region.
func vhdxMetadata(size int64, id [16]byte) []byte {
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
