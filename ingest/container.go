package ingest

import (
	"encoding/hex"

	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/vhd"
)

// format names the parsed container format in the disk model's terms.
func format(f vhd.Format) diskmap.Format {
	switch f {
	case vhd.FormatVHD:
		return diskmap.FormatVHD
	case vhd.FormatVHDX:
		return diskmap.FormatVHDX
	}
	return diskmap.FormatRaw
}

// container describes a parsed container for the manifest.
func container(i vhd.Info) diskmap.Container {
	c := diskmap.Container{Type: i.Type.String(), BlockSize: i.BlockSize,
		LogicalSectorSize: i.LogicalSectorSize, PhysicalSectorSize: i.PhysicalSectorSize,
		ParentLocators: i.ParentLocators, HasParent: i.HasParent, LogReplayed: i.LogReplayed}
	hexID := func(id [16]byte) string {
		if id == ([16]byte{}) {
			return ""
		}
		return hex.EncodeToString(id[:])
	}
	c.DiskID, c.DataWriteID, c.ParentID = hexID(i.DiskID), hexID(i.DataWriteID), hexID(i.ParentID)
	return c
}
