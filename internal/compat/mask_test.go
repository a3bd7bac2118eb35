package compat

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// A vhd or vhdx restore is a new container: each write draws new
// identifiers (and a VHD carries its creation time), so two restores of the
// same disk differ in those fields and in the checksums over them.
// maskContainer zeroes exactly those fields, found by the formats'
// specifications, so that everything else can be compared byte for byte.
// Other formats are left alone. It fails when b is not the container its
// format says, which is itself a compatibility failure.
func maskContainer(format string, b []byte) error {
	switch format {
	case "vhd":
		return maskVHD(b)
	case "vhdx":
		return maskVHDX(b)
	}
	return nil
}

// maskVHD zeroes, in the footer and in its copy at the start of a dynamic
// VHD, the time stamp (offset 24, 4 bytes), the checksum (64, 4) and the
// unique id (68, 16).
func maskVHD(b []byte) error {
	const footer = 512
	if len(b) < 2*footer {
		return fmt.Errorf("vhd restore of %d bytes: too short", len(b))
	}
	for _, off := range []int{0, len(b) - footer} {
		f := b[off : off+footer]
		if string(f[:8]) != "conectix" {
			return fmt.Errorf("vhd restore: no footer cookie at %d", off)
		}
		clear(f[24:28])
		clear(f[64:84])
	}
	return nil
}

// VHDX structure locations and identifiers (MS-VHDX sections 2.2-2.6).
const (
	vhdxHeader1     = 64 << 10
	vhdxHeader2     = 128 << 10
	vhdxRegionTable = 192 << 10
	guidMetaRegion  = "8B7CA206-4790-4B9A-B8FE-575F050F886E"
	guidPage83      = "BECA12AB-B2E6-4523-93EF-C309E000C746"
)

// maskVHDX zeroes, in both headers, the checksum (offset 4, 4 bytes) and
// the FileWriteGuid and DataWriteGuid (16, 32), and the value of the
// Page 83 (virtual disk id) metadata item.
func maskVHDX(b []byte) error {
	if len(b) < 1<<20 || string(b[:8]) != "vhdxfile" {
		return fmt.Errorf("vhdx restore: no file identifier")
	}
	for _, off := range []int{vhdxHeader1, vhdxHeader2} {
		h := b[off : off+4096]
		if string(h[:4]) != "head" {
			return fmt.Errorf("vhdx restore: no header at %d", off)
		}
		clear(h[4:8])
		clear(h[16:48])
	}
	meta, err := vhdxRegion(b, guidMetaRegion)
	if err != nil {
		return err
	}
	if meta+64<<10 > int64(len(b)) || string(b[meta:meta+8]) != "metadata" {
		return fmt.Errorf("vhdx restore: no metadata table at %d", meta)
	}
	n := int(binary.LittleEndian.Uint16(b[meta+10:]))
	want := msGUID(guidPage83)
	for i := range n {
		e := b[meta+32+32*int64(i):]
		if !bytes.Equal(e[:16], want[:]) {
			continue
		}
		off := meta + int64(binary.LittleEndian.Uint32(e[16:]))
		size := int64(binary.LittleEndian.Uint32(e[20:]))
		if off+size > int64(len(b)) {
			return fmt.Errorf("vhdx restore: page 83 item outside the file")
		}
		clear(b[off : off+size])
		return nil
	}
	return fmt.Errorf("vhdx restore: no page 83 metadata item")
}

// vhdxRegion returns the file offset of a region from the first region
// table.
func vhdxRegion(b []byte, id string) (int64, error) {
	rt := b[vhdxRegionTable : vhdxRegionTable+64<<10]
	if string(rt[:4]) != "regi" {
		return 0, fmt.Errorf("vhdx restore: no region table")
	}
	want := msGUID(id)
	n := int(binary.LittleEndian.Uint32(rt[8:]))
	for i := range min(n, 2047) {
		e := rt[16+32*i:]
		if bytes.Equal(e[:16], want[:]) {
			return int64(binary.LittleEndian.Uint64(e[16:])), nil
		}
	}
	return 0, fmt.Errorf("vhdx restore: no region %s", id)
}

// msGUID encodes a GUID the Microsoft way: the first three groups little
// endian, the rest as written.
func msGUID(s string) (g [16]byte) {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 {
		panic("bad GUID " + s)
	}
	copy(g[:], h)
	g[0], g[1], g[2], g[3] = h[3], h[2], h[1], h[0]
	g[4], g[5] = h[5], h[4]
	g[6], g[7] = h[7], h[6]
	return g
}
