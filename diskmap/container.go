package diskmap

import (
	"fmt"
	"strings"
)

// Format is the container format a disk was uploaded in. It is stored in
// manifests by name ("raw", "vhd", "vhdx").
type Format uint8

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
	return fmt.Sprintf("format(%d)", uint8(f))
}

// ParseFormat parses a format name as String writes it.
func ParseFormat(s string) (Format, error) {
	for f := FormatRaw; f <= FormatVHDX; f++ {
		if strings.EqualFold(s, f.String()) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown disk format %q", s)
}

// MarshalText writes the format's name; a format of no known value (0,
// or a name this build does not know) is written as "".
func (f Format) MarshalText() ([]byte, error) {
	if f < FormatRaw || f > FormatVHDX {
		return []byte{}, nil
	}
	return []byte(f.String()), nil
}

// UnmarshalText reads a format's name. A name it does not know reads as
// format 0 rather than failing: a manifest must never become unreadable,
// and so its snapshot unlisted, over the name of its container format.
func (f *Format) UnmarshalText(b []byte) error {
	v, err := ParseFormat(string(b))
	if err != nil {
		v = 0
	}
	*f = v
	return nil
}

// Container describes the uploaded container of a disk, as the manifest
// records it. The identifiers link a differencing disk to its parent.
type Container struct {
	Type               string   `json:"type"`
	BlockSize          int64    `json:"block_size,omitempty"`
	LogicalSectorSize  int      `json:"logical_sector_size,omitempty"`
	PhysicalSectorSize int      `json:"physical_sector_size,omitempty"`
	DiskID             string   `json:"disk_id,omitempty"`
	DataWriteID        string   `json:"data_write_id,omitempty"`
	ParentID           string   `json:"parent_id,omitempty"`
	ParentLocators     []string `json:"parent_locators,omitempty"`
	HasParent          bool     `json:"has_parent,omitempty"`
	LogReplayed        bool     `json:"log_replayed,omitempty"`
}

// GuestHints records how guest hints shaped a stored disk.
type GuestHints struct {
	Boundaries int `json:"boundaries"`
	FreeRanges int `json:"free_ranges"`
	// FreeExcluded says free guest space was stored as zeros: a restore has
	// zeros where deleted data was, and the original file is not restored
	// byte for byte.
	FreeExcluded bool  `json:"free_excluded"`
	FreeBytes    int64 `json:"free_bytes"`
}
