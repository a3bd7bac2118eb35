package vhdtest

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"unicode/utf16"
)

// Parent names the parent of a generated differencing disk.
type Parent struct {
	Path string   // the parent's path, written into the locators
	ID   [16]byte // the parent's VHD unique id or VHDX data write GUID
	Raw  string   // a raw image of the parent's virtual content
}

// vhdImage is an independent, minimal VHD writer for fixtures.
type vhdImage struct {
	size, bs int64
	parent   *Parent
	metaLast bool // dynamic header and BAT after the blocks
	// block returns the MSB-first sector bitmap and the data of block i,
	// or nil when the block is unallocated.
	block func(i int64) (bitmap, data []byte)
}

func be32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
func be64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }

func vhdSum(b []byte) uint32 {
	var s uint32
	for _, c := range b {
		s += uint32(c)
	}
	return ^s
}

func (v *vhdImage) write(t testing.TB, path string) {
	t.Helper()
	n := (v.size + v.bs - 1) / v.bs
	bmLen := (v.bs/512/8 + 511) / 512 * 512
	batLen := (n*4 + 511) / 512 * 512
	var out bytes.Buffer
	out.Write(make([]byte, 512)) // footer copy, filled in below
	hdrOff, locOff := int64(512), int64(1536)
	var locs [][]byte
	if v.parent != nil {
		locs = [][]byte{utf16le(v.parent.Path), utf16le(".\\" + baseName(v.parent.Path))}
	}
	layoutMeta := func() int64 {
		off := int64(out.Len())
		hdrOff = off
		out.Write(make([]byte, 1024))
		locOff = int64(out.Len())
		for _, l := range locs {
			out.Write(make([]byte, (int64(len(l))+511)/512*512))
		}
		batOff := int64(out.Len())
		out.Write(make([]byte, batLen))
		return batOff
	}
	var batOff int64
	if !v.metaLast {
		batOff = layoutMeta()
	}
	bat := make([]uint32, n)
	for i := int64(0); i < n; i++ {
		bm, data := v.block(i)
		if bm == nil {
			bat[i] = 0xFFFFFFFF
			continue
		}
		bat[i] = uint32(out.Len() / 512)
		b := make([]byte, bmLen)
		copy(b, bm)
		out.Write(b)
		out.Write(data)
	}
	if v.metaLast {
		batOff = layoutMeta()
	}
	img := out.Bytes()
	for i, e := range bat {
		be32(img[batOff+4*int64(i):], e)
	}
	for i := int64(n * 4); i < batLen; i++ {
		img[batOff+i] = 0xFF
	}
	h := img[hdrOff : hdrOff+1024]
	copy(h, "cxsparse")
	be64(h[8:], ^uint64(0))
	be64(h[16:], uint64(batOff))
	be32(h[24:], 0x00010000)
	be32(h[28:], uint32(n))
	be32(h[32:], uint32(v.bs))
	typ := uint32(3)
	if v.parent != nil {
		typ = 4
		copy(h[40:], v.parent.ID[:])
		name := utf16.Encode([]rune(baseName(v.parent.Path)))
		for i, c := range name {
			binary.BigEndian.PutUint16(h[64+2*i:], c)
		}
		off := locOff
		for i, l := range locs {
			e := h[576+24*i:]
			copy(e, []string{"W2ku", "W2ru"}[i])
			sp := (int64(len(l)) + 511) / 512 * 512
			be32(e[4:], uint32(sp))
			be32(e[8:], uint32(len(l)))
			be64(e[16:], uint64(off))
			copy(img[off:], l)
			off += sp
		}
	}
	be32(h[36:], vhdSum(h))
	f := make([]byte, 512)
	copy(f, "conectix")
	be32(f[8:], 2)
	be32(f[12:], 0x00010000)
	be64(f[16:], uint64(hdrOff))
	copy(f[28:], "win ")
	copy(f[36:], "Wi2k")
	be64(f[40:], uint64(v.size))
	be64(f[48:], uint64(v.size))
	be32(f[56:], 0xFFFF10FF) // maximal geometry: readers use the current size
	be32(f[60:], typ)
	copy(f[68:], []byte("shadowvault-test"))
	be32(f[64:], vhdSum(f))
	copy(img, f)
	out.Write(f)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' || p[i] == '\\' {
			return p[i+1:]
		}
	}
	return p
}

func readAll(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at returns n bytes of b at off, zero-padded past its end.
func at(b []byte, off, n int64) []byte {
	out := make([]byte, n)
	if off < int64(len(b)) {
		copy(out, b[off:])
	}
	return out
}

// DiffVHD writes a differencing VHD at out whose content over the parent
// equals the raw image merged (same size as the parent). Sectors equal to
// the parent are left to it; absent sectors inside allocated blocks hold
// garbage, so a reader that ignores the bitmap fails.
func DiffVHD(t testing.TB, out string, parent Parent, merged string) {
	t.Helper()
	p, m := readAll(t, parent.Raw), readAll(t, merged)
	const bs = 2 << 20
	(&vhdImage{size: int64(len(m)), bs: bs, parent: &parent, block: func(i int64) ([]byte, []byte) {
		pd, md := at(p, i*bs, bs), at(m, i*bs, bs)
		bm := make([]byte, bs/512/8)
		any := false
		for s := 0; s < bs/512; s++ {
			if !bytes.Equal(pd[s*512:(s+1)*512], md[s*512:(s+1)*512]) {
				bm[s/8] |= 0x80 >> (s % 8)
				any = true
			} else {
				copy(md[s*512:(s+1)*512], bytes.Repeat([]byte{0xEE}, 512))
			}
		}
		if !any {
			return nil, nil
		}
		return bm, md
	}}).write(t, out)
}

// SpillVHD writes a dynamic VHD of raw whose dynamic header and BAT come
// after the blocks (only the footer copy precedes them).
func SpillVHD(t testing.TB, out, raw string) {
	t.Helper()
	m := readAll(t, raw)
	const bs = 2 << 20
	(&vhdImage{size: int64(len(m)), bs: bs, metaLast: true, block: func(i int64) ([]byte, []byte) {
		d := at(m, i*bs, bs)
		if bytes.Count(d, []byte{0}) == len(d) {
			return nil, nil
		}
		return bytes.Repeat([]byte{0xFF}, bs/512/8), d
	}}).write(t, out)
}
