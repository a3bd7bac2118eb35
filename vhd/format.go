package vhd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (or an I/O error of the underlying reader or writer).
var (
	ErrCorrupt        = errors.New("vhd: corrupt image")
	ErrTruncated      = errors.New("vhd: truncated image")
	ErrUnsupported    = errors.New("vhd: unsupported image feature")
	ErrFormatMismatch = errors.New("vhd: format mismatch")
	ErrSpillLimit     = errors.New("vhd: spill limit exceeded")
	// ErrMetadataLimit: parsing the container would keep more metadata
	// in memory (BAT entries) than Options.MetadataLimit allows.
	ErrMetadataLimit = errors.New("vhd: metadata limit exceeded")
	// ErrEmptyDisk: the disk has no content, its virtual size is 0. A
	// container that says so is refused when parsed; callers refuse a raw
	// stream of 0 bytes (or a fixed VHD of size 0) once it has ended.
	ErrEmptyDisk = errors.New("vhd: empty disk (virtual size 0)")
)

// Format is a container format.
type Format int

// Container formats.
const (
	FormatRaw Format = 1 + iota
	FormatVHD
	FormatVHDX
)

func (f Format) String() string {
	switch f {
	case FormatRaw:
		return "raw"
	case FormatVHD:
		return "vhd"
	case FormatVHDX:
		return "vhdx"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses "raw", "vhd" or "vhdx" (case-insensitive; "vpc" is an
// alias of "vhd", as qemu calls it).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "raw", "img":
		return FormatRaw, nil
	case "vhd", "vpc":
		return FormatVHD, nil
	case "vhdx":
		return FormatVHDX, nil
	}
	return 0, fmt.Errorf("%w: unknown format %q", ErrUnsupported, s)
}

// Detect looks at the first bytes of a stream and returns FormatVHDX
// ("vhdxfile" at 0), FormatVHD ("conectix" at 0, the footer copy of a dynamic
// or differencing VHD) or FormatRaw. A fixed VHD looks raw from its head; the
// Stream recognises its footer at the end.
func Detect(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		return FormatVHDX
	case bytes.HasPrefix(head, []byte(vhdCookie)):
		return FormatVHD
	}
	return FormatRaw
}

// DiskType is the kind of virtual disk.
type DiskType int

// Disk types.
const (
	Fixed DiskType = 1 + iota
	Dynamic
	Differencing
)

func (t DiskType) String() string {
	switch t {
	case Fixed:
		return "fixed"
	case Dynamic:
		return "dynamic"
	case Differencing:
		return "differencing"
	}
	return fmt.Sprintf("DiskType(%d)", int(t))
}

// Kind says what a Piece describes.
type Kind int

// Piece kinds.
const (
	// Meta is container bytes at FileOff..FileOff+Len that are not virtual
	// content: headers, footers, BAT, bitmaps, metadata, log, padding, and the
	// file bytes of sectors that are not virtual content.
	Meta Kind = 1 + iota
	// Payload is file bytes at FileOff that are the virtual content at VOff.
	Payload
	// Virtual is virtual content at VOff that is not found at this place in
	// the file (for example a VHDX log replayed over a block). Its bytes are
	// read from the Stream; FileOff is -1.
	Virtual
	// Zero says the virtual range [VOff, VOff+Len) is zero. No bytes;
	// FileOff is -1.
	Zero
)

func (k Kind) String() string {
	switch k {
	case Meta:
		return "meta"
	case Payload:
		return "payload"
	case Virtual:
		return "virtual"
	case Zero:
		return "zero"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Piece is one step of a Stream: a range of the container file, of the
// virtual disk, or both.
type Piece struct {
	Kind    Kind
	FileOff int64
	VOff    int64
	Len     int64
}

// Info describes a disk. See Stream.Info for when fields are final.
type Info struct {
	Format             Format
	Type               DiskType
	VirtualSize        int64
	BlockSize          int64 // 0 for fixed and raw disks
	LogicalSectorSize  int
	PhysicalSectorSize int
	DiskID             [16]byte // VHD unique id or VHDX VirtualDiskId
	ParentID           [16]byte // VHD parent unique id or VHDX parent linkage; zero when none
	DataWriteID        [16]byte // VHDX DataWriteGuid: a child's ParentID names it; zero for VHD
	ParentLocators     []string // every parent path found
	HasParent          bool
	LogReplayed        bool  // a non-empty VHDX log was replayed
	FileSize           int64 // total bytes of the container stream
}
