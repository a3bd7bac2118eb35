package restore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/vhd"
)

// etagVersion changes when the output of a restore changes for the same
// snapshot disk and format, other than through the vhd layout (whose
// vhd.LayoutVersion the entity tag includes as well).
const etagVersion = 1

// imageIDs are the GUIDs and time stamp of a VHD or VHDX restore of disk
// name of snapshot m: derived from the snapshot ID and the disk name, so
// that every restore of the disk is the same file; the VHD time stamp is
// the snapshot's time.
func imageIDs(m *repo.Manifest, name string) vhd.ImageIDs {
	return vhd.DeriveIDs(fields("shadowvault restore image ids", m.ID, name), m.Time)
}

// ETag is a strong HTTP entity tag (quoted) of the disk's output: the same
// for every restore of the same snapshot disk in the same format,
// different for another disk, snapshot or format. It covers the snapshot
// ID, the disk name, the format, the output size, the disk maps the output
// is read from and the layout versions.
func (d *Disk) ETag() string {
	b := fields("shadowvault restore etag", d.snapshot, d.name, d.format.String())
	b = binary.AppendUvarint(b, etagVersion)
	b = binary.AppendUvarint(b, vhd.LayoutVersion)
	b = binary.AppendVarint(b, d.size)
	for c := d.c; c != nil; c = c.parent {
		b = append(b, c.mapID[:]...)
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// fields encodes strings, each after its length, so that no two lists of
// strings encode the same.
func fields(s ...string) []byte {
	var b []byte
	for _, f := range s {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}
