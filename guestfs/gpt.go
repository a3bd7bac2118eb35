package guestfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"
)

const (
	gptHeaderMin     = 92
	maxGPTEntryBytes = 1 << 20
)

// msrType is the GPT type GUID of the Microsoft reserved partition, as
// stored on disk (mixed endian).
var msrType = []byte{0x16, 0xe3, 0xc9, 0xe3, 0x5c, 0x0b, 0xb8, 0x4d, 0x81, 0x7d, 0xf9, 0x2d, 0xf0, 0x02, 0x15, 0xae}

// gptHeader holds the fields of a GPT header that locate the entry array.
type gptHeader struct {
	headerLBA  int64
	entriesLBA int64
	numEntries int64
	entrySize  int64
	entriesCRC uint32
}

// readGPT reads the primary GPT and falls back to the backup at the end
// of the disk when the primary header or its entry array is damaged. It
// tries 512-byte and 4096-byte logical sectors.
func readGPT(r io.ReaderAt, size int64) ([]Partition, error) {
	var firstErr error
	for _, ss := range []int64{512, 4096} {
		if size < 3*ss {
			continue
		}
		for _, lba := range []int64{1, size/ss - 1} {
			parts, err := readGPTAt(r, size, ss, lba)
			if err == nil {
				return parts, nil
			}
			if !errors.Is(err, ErrCorrupt) {
				return nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return nil, fmt.Errorf("gpt: no valid header: %w", firstErr)
}

func readGPTAt(r io.ReaderAt, size, ss, lba int64) ([]Partition, error) {
	h, err := readGPTHeader(r, ss, lba)
	if err != nil {
		return nil, err
	}
	total := h.numEntries * h.entrySize
	off := h.entriesLBA * ss
	if h.entriesLBA < 1 || off > size || total > size-off {
		return nil, corruptf("gpt header at lba %d: entry array outside the disk", lba)
	}
	buf := make([]byte, total)
	if err := readFull(r, buf, off); err != nil {
		return nil, fmt.Errorf("read gpt entries: %w", err)
	}
	if crc32.ChecksumIEEE(buf) != h.entriesCRC {
		return nil, corruptf("gpt header at lba %d: entry array crc mismatch", lba)
	}
	var parts []Partition
	for i := range h.numEntries {
		e := buf[i*h.entrySize : (i+1)*h.entrySize]
		if bytes.Equal(e[:16], make([]byte, 16)) {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:])
		last := binary.LittleEndian.Uint64(e[40:])
		if last < first || last >= uint64(size/ss) {
			continue
		}
		n := len(parts)
		parts = addPartition(r, size, parts, int(i)+1, int64(first)*ss, int64(last-first+1)*ss, gptName(e[56:128]))
		if len(parts) > n && bytes.Equal(e[:16], msrType) && parts[n].Type == "unknown" {
			parts[n].Type = "msr"
		}
	}
	return parts, nil
}

func readGPTHeader(r io.ReaderAt, ss, lba int64) (gptHeader, error) {
	b := make([]byte, ss)
	if err := readFull(r, b, lba*ss); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return gptHeader{}, corruptf("gpt header at lba %d: short read", lba)
		}
		return gptHeader{}, fmt.Errorf("read gpt header: %w", err)
	}
	if string(b[:8]) != "EFI PART" {
		return gptHeader{}, corruptf("gpt header at lba %d: no signature", lba)
	}
	hs := int64(binary.LittleEndian.Uint32(b[12:]))
	if hs < gptHeaderMin || hs > ss {
		return gptHeader{}, corruptf("gpt header at lba %d: header size %d", lba, hs)
	}
	want := binary.LittleEndian.Uint32(b[16:])
	hdr := append([]byte(nil), b[:hs]...)
	clear(hdr[16:20])
	if crc32.ChecksumIEEE(hdr) != want {
		return gptHeader{}, corruptf("gpt header at lba %d: crc mismatch", lba)
	}
	h := gptHeader{
		headerLBA:  int64(binary.LittleEndian.Uint64(b[24:])),
		entriesLBA: int64(binary.LittleEndian.Uint64(b[72:])),
		numEntries: int64(binary.LittleEndian.Uint32(b[80:])),
		entrySize:  int64(binary.LittleEndian.Uint32(b[84:])),
		entriesCRC: binary.LittleEndian.Uint32(b[88:]),
	}
	switch {
	case h.headerLBA != lba:
		return h, corruptf("gpt header at lba %d says it is at %d", lba, h.headerLBA)
	case h.entrySize < 128 || h.entrySize%8 != 0:
		return h, corruptf("gpt entry size %d", h.entrySize)
	case h.numEntries*h.entrySize > maxGPTEntryBytes:
		return h, corruptf("gpt entry array of %d x %d bytes", h.numEntries, h.entrySize)
	}
	return h, nil
}

// gptName decodes a NUL-terminated UTF-16LE partition name.
func gptName(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
