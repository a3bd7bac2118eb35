package vhdtest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"testing"
)

// vhdxImage is an independent, minimal VHDX writer for fixtures.
type vhdxImage struct {
	size, bs int64
	parent   *Parent
	metaLast bool // payload before the metadata region and the BAT
	// block returns the BAT state of payload block i, its data (for
	// states 6 and 7) and, for state 7, its LSB-first sector bitmap.
	block   func(i int64) (state uint64, data, bitmap []byte)
	logGUID [16]byte
	log     func(fileSize int64) []byte // the log region (logLen bytes), or nil
	logLen  int64                       // log length; 0 = 1 MiB
}

const mib = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func le32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
func le64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }

// msGUID turns a textual GUID into its on-disk byte order.
func msGUID(s string) (g [16]byte) {
	b, _ := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(b))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(b[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(b[6:]))
	copy(g[8:], b[8:])
	return g
}

// guidString formats an on-disk GUID as Windows does, with braces.
func guidString(g [16]byte) string {
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

func putCRC(b []byte) { le32(b[4:], 0); le32(b[4:], crc32.Checksum(b, crcTable)) }

func (v *vhdxImage) write(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, v.image(false), 0o644); err != nil {
		t.Fatal(err)
	}
}

// image builds the file. With headOnly, the payload blocks get their file
// offsets but are not included: the result ends before the first of them
// (headOnly needs the metadata first and no sector bitmaps).
func (v *vhdxImage) image(headOnly bool) []byte {
	n := (v.size + v.bs - 1) / v.bs
	cr := int64(1<<23) * 512 / v.bs
	chunks := (n + cr - 1) / cr
	entries := n + (n-1)/cr
	if v.parent != nil {
		entries = chunks * (cr + 1)
	}
	batLen := (entries*8 + mib - 1) / mib * mib
	logLen := v.logLen
	if logLen == 0 {
		logLen = mib
	}
	img := make([]byte, mib+logLen) // header area and log
	bat := make([]byte, batLen)
	var metaOff, batOff int64
	placeMeta := func() {
		metaOff = int64(len(img))
		img = append(img, make([]byte, mib)...)
		batOff = int64(len(img))
		img = append(img, make([]byte, batLen)...)
	}
	if !v.metaLast {
		placeMeta()
	}
	bitmaps := map[int64][]byte{}
	skipped := int64(0) // payload bytes left out (headOnly)
	for i := int64(0); i < n; i++ {
		st, data, bm := v.block(i)
		e := st
		if headOnly && st == 6 {
			e |= uint64((int64(len(img))+skipped)/mib) << 20
			skipped += v.bs
		} else if st == 6 || st == 7 {
			e |= uint64(len(img)/mib) << 20
			d := make([]byte, v.bs)
			copy(d, data)
			img = append(img, d...)
		}
		if st == 7 {
			c := i / cr
			if bitmaps[c] == nil {
				bitmaps[c] = make([]byte, mib)
			}
			copy(bitmaps[c][(i%cr)*(v.bs/512/8):], bm)
		}
		le64(bat[8*(i+i/cr):], e)
	}
	for c := int64(0); c < chunks; c++ {
		if bitmaps[c] != nil {
			le64(bat[8*(c*(cr+1)+cr):], uint64(len(img)/mib)<<20|6)
			img = append(img, bitmaps[c]...)
		}
	}
	if v.metaLast {
		placeMeta()
	}
	copy(img[batOff:], bat)
	v.metadata(img[metaOff : metaOff+mib])

	copy(img, "vhdxfile")
	copy(img[8:], utf16le("vhdtest"))
	for i, off := range []int{64 << 10, 128 << 10} {
		h := img[off : off+4096]
		copy(h, "head")
		le64(h[8:], uint64(10+i))
		copy(h[16:], []byte("file-write-guid!"))
		copy(h[32:], []byte("data-write-guid!"))
		copy(h[48:], v.logGUID[:])
		binary.LittleEndian.PutUint16(h[66:], 1)
		le32(h[68:], uint32(logLen))
		le64(h[72:], mib)
		putCRC(h)
	}
	for _, off := range []int{192 << 10, 256 << 10} {
		r := img[off : off+64<<10]
		copy(r, "regi")
		le32(r[8:], 2)
		for j, e := range []struct {
			id       string
			off, len int64
		}{{"2DC27766-F623-4200-9D64-115E9BFD4A08", batOff, batLen}, {"8B7CA206-4790-4B9A-B8FE-575F050F886E", metaOff, mib}} {
			x := r[16+32*j:]
			g := msGUID(e.id)
			copy(x, g[:])
			le64(x[16:], uint64(e.off))
			le32(x[24:], uint32(e.len))
			le32(x[28:], 1)
		}
		putCRC(r)
	}
	if v.log != nil {
		copy(img[mib:mib+logLen], v.log(int64(len(img))+skipped))
	}
	return img
}

// HugeBATVHDXHead returns the head of a dynamic VHDX of size bytes with
// blocks of bs bytes, every one FULLY_PRESENT at ascending file offsets:
// the header area, log, metadata region and BAT, up to the first payload
// block, which is not included (the whole file would be about size bytes
// longer). A 2 TiB disk of 1 MiB blocks has 2^21 BAT entries in a 17 MiB
// BAT; its head is 20 MiB.
func HugeBATVHDXHead(size, bs int64) []byte {
	return (&vhdxImage{size: size, bs: bs, block: func(int64) (uint64, []byte, []byte) { return 6, nil, nil }}).image(true)
}

func (v *vhdxImage) metadata(m []byte) {
	copy(m, "metadata")
	type item struct {
		id    string
		data  []byte
		flags uint32
	}
	fp := make([]byte, 8)
	le32(fp, uint32(v.bs))
	sz := make([]byte, 8)
	le64(sz, uint64(v.size))
	items := []item{
		{"CAA16737-FA36-4D43-B3B6-33F0AA44E76B", fp, 4},
		{"2FA54224-CD1B-4876-B211-5DBED83BF4B8", sz, 6},
		{"BECA12AB-B2E6-4523-93EF-C309E000C746", []byte("virtual-disk-id!"), 6},
		{"8141BF1D-A96F-4709-BA47-F233A8FAAB5F", []byte{0, 2, 0, 0}, 6},
		{"CDA348C7-445D-4471-9CC9-E9885251C556", []byte{0, 16, 0, 0}, 6},
	}
	if v.parent != nil {
		le32(fp[4:], 2)
		items = append(items, item{"A8D35F2D-B30B-454D-ABF7-D3D84834AB0C", parentLocator(v.parent), 6})
	}
	le32(m[8:], uint32(len(items))<<16)
	off := 64 << 10
	for i, it := range items {
		e := m[32+32*i:]
		g := msGUID(it.id)
		copy(e, g[:])
		le32(e[16:], uint32(off))
		le32(e[20:], uint32(len(it.data)))
		le32(e[24:], it.flags)
		copy(m[off:], it.data)
		off += (len(it.data) + 7) / 8 * 8
	}
}

func parentLocator(p *Parent) []byte {
	kv := [][2]string{{"parent_linkage", guidString(p.ID)}, {"relative_path", ".\\" + baseName(p.Path)}, {"absolute_win32_path", p.Path}}
	hdr := make([]byte, 20+12*len(kv))
	g := msGUID("B04AEFB7-D19E-4A81-B789-25B8E9445913")
	copy(hdr, g[:])
	binary.LittleEndian.PutUint16(hdr[18:], uint16(len(kv)))
	var data []byte
	for i, e := range kv {
		k, v := utf16le(e[0]), utf16le(e[1])
		x := hdr[20+12*i:]
		le32(x, uint32(len(hdr)+len(data)))
		data = append(data, k...)
		le32(x[4:], uint32(len(hdr)+len(data)))
		data = append(data, v...)
		binary.LittleEndian.PutUint16(x[8:], uint16(len(k)))
		binary.LittleEndian.PutUint16(x[10:], uint16(len(v)))
	}
	return append(hdr, data...)
}

// DiffVHDX writes a differencing VHDX (1 MiB blocks) at out whose content
// over the parent equals merged. Blocks equal to the parent are
// NOT_PRESENT, blocks that became all zero are ZERO, blocks that differ
// everywhere are FULLY_PRESENT and the others PARTIALLY_PRESENT with a
// sector bitmap (absent sectors hold garbage).
func DiffVHDX(t testing.TB, out string, parent Parent, merged string) {
	t.Helper()
	p, m := readAll(t, parent.Raw), readAll(t, merged)
	const bs = mib
	(&vhdxImage{size: int64(len(m)), bs: bs, parent: &parent, block: func(i int64) (uint64, []byte, []byte) {
		pd, md := at(p, i*bs, bs), at(m, i*bs, bs)
		if bytes.Equal(pd, md) {
			return 0, nil, nil
		}
		if bytes.Count(md, []byte{0}) == len(md) {
			return 2, nil, nil
		}
		bm := make([]byte, bs/512/8)
		all := true
		for s := 0; s < bs/512; s++ {
			if !bytes.Equal(pd[s*512:(s+1)*512], md[s*512:(s+1)*512]) {
				bm[s/8] |= 1 << (s % 8)
			} else {
				all = false
				copy(md[s*512:(s+1)*512], bytes.Repeat([]byte{0xEE}, 512))
			}
		}
		if all {
			return 6, md, nil
		}
		return 7, md, bm
	}}).write(t, out)
}

// dynamicBlocks makes FULLY_PRESENT blocks of raw, NOT_PRESENT for zeros.
func dynamicBlocks(m []byte, bs int64) func(i int64) (uint64, []byte, []byte) {
	return func(i int64) (uint64, []byte, []byte) {
		d := at(m, i*bs, bs)
		if bytes.Count(d, []byte{0}) == len(d) {
			return 0, nil, nil
		}
		return 6, d, nil
	}
}

// SpillVHDX writes a dynamic VHDX (1 MiB blocks) of raw whose metadata
// region and BAT come after the payload.
func SpillVHDX(t testing.TB, out, raw string) {
	t.Helper()
	m := readAll(t, raw)
	(&vhdxImage{size: int64(len(m)), bs: mib, metaLast: true, block: dynamicBlocks(m, mib)}).write(t, out)
}
