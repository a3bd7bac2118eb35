package restore

import (
	"fmt"
	"path"
	"strings"
)

// Format is what a restore produces from a snapshot disk.
type Format uint8

// Restore formats.
const (
	// Raw is the virtual content, byte for byte: what the guest saw.
	Raw Format = 1 + iota
	// Original is the uploaded container file, byte for byte, rebuilt from
	// its recipe. A differencing disk's original is the child file alone.
	Original
	// VHD is the virtual content in a new dynamic VHD (at most 2040 GiB).
	VHD
	// VHDX is the virtual content in a new dynamic VHDX.
	VHDX
)

func (f Format) String() string {
	switch f {
	case Raw:
		return "raw"
	case Original:
		return "original"
	case VHD:
		return "vhd"
	case VHDX:
		return "vhdx"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// ParseFormat parses a format name; the empty name is Raw.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return Raw, nil
	}
	for f := Raw; f <= VHDX; f++ {
		if s == f.String() {
			return f, nil
		}
	}
	return 0, fmt.Errorf("%w: %q (original, raw, vhd or vhdx)", ErrBadFormat, s)
}

// FileName names the restored file after the disk: the disk's own name
// for Raw and Original, the format's extension otherwise.
func (f Format) FileName(disk string) string {
	if f == Raw || f == Original {
		return disk
	}
	return strings.TrimSuffix(disk, path.Ext(disk)) + "." + f.String()
}
