package guestfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Partition is one partition of a disk, in disk byte offsets.
type Partition struct {
	// Index numbers partitions as Windows and Linux do: MBR primary slots
	// 1-4, logical partitions from 5, GPT entries from 1.
	Index int `json:"index"`
	// Type is the filesystem found in the partition's boot sector: "ntfs",
	// "fat", "exfat", "refs", "bitlocker", "ext", "xfs", "swap", "lvm",
	// "msr" (GPT reserved partition) or "unknown".
	Type   string `json:"type"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	// Name is the GPT partition name, if any.
	Name string `json:"name,omitempty"`
}

const (
	mbrSector   = 512
	maxLogicals = 128
)

// Partitions reads the partition table of a disk of size bytes. A disk
// without a table whose first sector is a filesystem boot sector is one
// partition (index 1, offset 0). A disk with neither has no partitions.
func Partitions(r io.ReaderAt, size int64) ([]Partition, error) {
	if size < mbrSector {
		return nil, nil
	}
	if t := detectFS(r, 0, size); t != "unknown" {
		return []Partition{{Index: 1, Type: t, Offset: 0, Size: size}}, nil
	}
	mbr := make([]byte, mbrSector)
	if err := readFull(r, mbr, 0); err != nil {
		return nil, fmt.Errorf("read mbr: %w", err)
	}
	if binary.LittleEndian.Uint16(mbr[510:]) != 0xaa55 {
		// Some tools write GPT without a protective MBR.
		if parts, err := readGPT(r, size); err == nil {
			return parts, nil
		}
		return nil, nil
	}
	for i := range 4 {
		if mbr[446+16*i+4] == 0xee {
			return readGPT(r, size)
		}
	}
	return readMBR(r, size, mbr)
}

// mbrEntry is one 16-byte MBR partition entry.
type mbrEntry struct {
	typ           byte
	start, length int64 // in sectors
}

func parseMBREntry(b []byte) mbrEntry {
	return mbrEntry{
		typ:    b[4],
		start:  int64(binary.LittleEndian.Uint32(b[8:])),
		length: int64(binary.LittleEndian.Uint32(b[12:])),
	}
}

func isExtended(typ byte) bool { return typ == 0x05 || typ == 0x0f || typ == 0x85 }

func readMBR(r io.ReaderAt, size int64, mbr []byte) ([]Partition, error) {
	var parts []Partition
	var ext []mbrEntry
	for i := range 4 {
		e := parseMBREntry(mbr[446+16*i:])
		switch {
		case e.typ == 0 || e.length == 0:
		case isExtended(e.typ):
			ext = append(ext, e)
		default:
			parts = addPartition(r, size, parts, i+1, e.start*mbrSector, e.length*mbrSector, "")
		}
	}
	if len(ext) > 0 {
		logical, err := readLogicals(r, size, ext[0].start)
		if err != nil {
			return parts, err
		}
		parts = append(parts, logical...)
	}
	return parts, nil
}

// readLogicals follows the chain of extended boot records that starts at
// sector base. Loops and overlong chains end the walk.
func readLogicals(r io.ReaderAt, size, base int64) ([]Partition, error) {
	var parts []Partition
	seen := map[int64]bool{}
	ebr := make([]byte, mbrSector)
	for cur := base; len(seen) < maxLogicals && !seen[cur]; {
		seen[cur] = true
		if cur*mbrSector >= size {
			break
		}
		if err := readFull(r, ebr, cur*mbrSector); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return parts, fmt.Errorf("read ebr at sector %d: %w", cur, err)
		}
		if binary.LittleEndian.Uint16(ebr[510:]) != 0xaa55 {
			break
		}
		if e := parseMBREntry(ebr[446:]); e.typ != 0 && e.length != 0 {
			parts = addPartition(r, size, parts, 5+len(parts), (cur+e.start)*mbrSector, e.length*mbrSector, "")
		}
		next := parseMBREntry(ebr[462:])
		if !isExtended(next.typ) || next.start == 0 {
			break
		}
		cur = base + next.start
	}
	return parts, nil
}

// addPartition appends a partition clipped to the disk; one that starts
// outside the disk is dropped.
func addPartition(r io.ReaderAt, size int64, parts []Partition, index int, off, length int64, name string) []Partition {
	if off < 0 || length <= 0 || off >= size {
		return parts
	}
	if length > size-off {
		length = size - off
	}
	return append(parts, Partition{Index: index, Type: detectFS(r, off, length), Offset: off, Size: length, Name: name})
}

// readFull reads len(p) bytes at off; a short read is io.ErrUnexpectedEOF.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
