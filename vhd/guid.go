package vhd

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// guid is a GUID in its on-disk (Microsoft mixed-endian) byte order.
type guid [16]byte

// mustGUID parses "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" into on-disk order.
func mustGUID(s string) guid {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("vhd: bad guid " + s)
	}
	var g guid
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(b[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(b[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(b[6:]))
	copy(g[8:], b[8:])
	return g
}

// parseGUIDString parses a GUID as text, with or without braces, into
// on-disk order.
func parseGUIDString(s string) (guid, bool) {
	s = strings.Trim(strings.TrimSpace(s), "{}")
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return guid{}, false
	}
	return mustGUID(s), true
}

func (g guid) isZero() bool { return g == guid{} }

var (
	guidBATRegion      = mustGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
	guidMetadataRegion = mustGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")

	guidFileParameters = mustGUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
	guidVirtualSize    = mustGUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
	guidPage83         = mustGUID("BECA12AB-B2E6-4523-93EF-C309E000C746")
	guidLogicalSector  = mustGUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
	guidPhysicalSector = mustGUID("CDA348C7-445D-4471-9CC9-E9885251C556")
	guidParentLocator  = mustGUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
	guidVHDXLocator    = mustGUID("B04AEFB7-D19E-4A81-B789-25B8E9445913")
)
