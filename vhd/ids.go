package vhd

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"math"
	"time"
)

// ImageIDs are the identity fields of a VHD or VHDX the package writes:
// the only bytes of the output that do not follow from the disk. GUIDs are
// in on-disk (Microsoft mixed-endian) byte order. The same disk written
// with the same ids gives the same bytes.
type ImageIDs struct {
	// Disk identifies the virtual disk: the VHDX page 83 data, the VHD
	// unique id.
	Disk [16]byte
	// FileWrite and DataWrite are the VHDX headers' file write and data
	// write GUIDs.
	FileWrite, DataWrite [16]byte
	// Time is the VHD footer's time stamp (seconds since 2000-01-01 UTC,
	// clamped to what the field holds). A VHDX has no time stamp.
	Time time.Time
}

// DeriveIDs derives ImageIDs from key: three version-4 GUIDs cut from a
// SHA-512 of key, and the time t. Equal keys give equal ids; the caller
// chooses a key that names the disk uniquely.
func DeriveIDs(key []byte, t time.Time) ImageIDs {
	h := sha512.New()
	h.Write([]byte("shadowvault vhd image ids\x00"))
	h.Write(key)
	sum := h.Sum(nil)
	ids := ImageIDs{Time: t}
	for i, g := range []*[16]byte{&ids.Disk, &ids.FileWrite, &ids.DataWrite} {
		copy(g[:], sum[16*i:])
		*g = [16]byte(version4(guid(*g)))
	}
	return ids
}

// filled returns ids with every zero GUID replaced by a random one and a
// zero Time by the current time.
func (ids ImageIDs) filled() ImageIDs {
	for _, g := range []*[16]byte{&ids.Disk, &ids.FileWrite, &ids.DataWrite} {
		if *g == ([16]byte{}) {
			*g = [16]byte(randomGUID())
		}
	}
	if ids.Time.IsZero() {
		ids.Time = time.Now()
	}
	return ids
}

func randomGUID() guid {
	var g guid
	rand.Read(g[:])
	return version4(g)
}

// version4 sets the version (4, random) and variant (RFC 4122) bits.
func version4(g guid) guid {
	g[7] = g[7]&0x0f | 0x40 // Data3 is little-endian on disk
	g[8] = g[8]&0x3f | 0x80
	return g
}

// vhdEpoch is the origin of VHD time stamps.
var vhdEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// vhdTimestamp is t in the VHD footer's encoding.
func vhdTimestamp(t time.Time) []byte {
	s := max(0, min(t.Unix()-vhdEpoch.Unix(), math.MaxUint32))
	return binary.BigEndian.AppendUint32(nil, uint32(s))
}
