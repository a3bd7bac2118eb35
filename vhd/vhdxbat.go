package vhd

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
)

// Placement checks of VHDX BAT entries ([MS-VHDX] 2.5), as qemu's vhdx
// driver makes them on open: a payload block or sector bitmap block lies at
// FileOffsetMB * 1 MiB, where the offset and the end of the block must not
// overflow, and outside the 1 MiB header area, the log, the BAT and the
// metadata region, and it overlaps no other block. The offset counts whole
// MiB, so it is 1 MiB aligned by construction; the 17 reserved bits between
// state and offset are ignored, as qemu ignores them. Whether a block lies
// inside the file is checked where the end of the file is known: at EOF of
// a stream (walk), and from the file size when mapping (mapVHDX).

// vhdxMaxFileOffset bounds the end of every VHDX structure in the file:
// twice the largest virtual disk, room for any layout of its blocks.
const vhdxMaxFileOffset = 2 * vhdxMaxSize

// vhdxRange is a fixed structure of the file no block may overlap.
type vhdxRange struct {
	name   string
	off, n int64
}

// vhdxFixed lists the header area, the log (if any) and the BAT and
// metadata regions.
func vhdxFixed(h vhdxHeader, batR, metaR region) []vhdxRange {
	r := []vhdxRange{{"the header area", 0, vhdxHeaderArea}, {"the BAT region", batR.off, batR.n}, {"the metadata region", metaR.off, metaR.n}}
	if h.logLength > 0 {
		r = append(r, vhdxRange{"the log", h.logOffset, h.logLength})
	}
	return r
}

// batName names the BAT entry of a payload block or sector bitmap extent
// of a VHDX with the given chunk ratio.
func batName(x extent, ratio int64) string {
	i := int64(x.idx)
	if x.kind == extBitmap {
		return fmt.Sprintf("BAT entry %d (sector bitmap of chunk %d)", i*(ratio+1)+ratio, i)
	}
	return fmt.Sprintf("BAT entry %d (payload block %d)", i+i/ratio, i)
}

// placeVHDX sets x.off, for a block of x.n bytes, from the FileOffsetMB of
// BAT entry e, and checks that the block neither overflows nor lies in the
// header area.
func placeVHDX(x extent, e uint64, ratio int64) (extent, error) {
	mb := e >> 20
	if x.n <= 0 || x.n > vhdxMaxFileOffset || mb > uint64(vhdxMaxFileOffset-x.n)/mib {
		return x, fmt.Errorf("%w: vhdx %s: file offset of %d MiB overflows (a block of %d bytes would end past %d)",
			ErrCorrupt, batName(x, ratio), mb, x.n, int64(vhdxMaxFileOffset))
	}
	x.off = int64(mb) * mib
	if x.off < vhdxHeaderArea {
		return x, fmt.Errorf("%w: vhdx %s: file offset %d lies in the 1 MiB header area", ErrCorrupt, batName(x, ratio), x.off)
	}
	return x, nil
}

// checkVHDXPlaces checks that no block or sector bitmap in blocks overlaps
// a fixed structure or another one. It sorts blocks by file offset.
func checkVHDXPlaces(fixed []vhdxRange, blocks []extent, ratio int64) error {
	sort.Slice(blocks, func(i, j int) bool {
		if blocks[i].off != blocks[j].off {
			return blocks[i].off < blocks[j].off
		}
		return blocks[i].kind < blocks[j].kind
	})
	last := -1 // the block with the largest end so far
	for i, x := range blocks {
		for _, r := range fixed {
			if x.off < r.off+r.n && r.off < x.off+x.n {
				return fmt.Errorf("%w: vhdx %s at %d, %d bytes, overlaps %s at %d, %d bytes",
					ErrCorrupt, batName(x, ratio), x.off, x.n, r.name, r.off, r.n)
			}
		}
		if last >= 0 && x.off < blocks[last].off+blocks[last].n {
			y := blocks[last]
			return fmt.Errorf("%w: vhdx %s at %d overlaps %s at %d, %d bytes",
				ErrCorrupt, batName(x, ratio), x.off, batName(y, ratio), y.off, y.n)
		}
		if last < 0 || x.off+x.n > blocks[last].off+blocks[last].n {
			last = i
		}
	}
	return nil
}

// sortPlaces puts the placed blocks and sector bitmaps of l in file order
// and checks them as checkVHDXPlaces does, without an extent per block: a
// BAT that lists them at ascending offsets (as qemu-img and Hyper-V write
// it) is walked as it is; otherwise l.order gets their BAT entry indexes
// (4 bytes each), sorted by file offset.
func (l *vhdxLayout) sortPlaces(fixed []vhdxRange) error {
	prev, sorted, n := int64(-1), true, 0
	for j := int64(0); j < int64(len(l.bat)); j++ {
		if l.placed(j) {
			if off := l.fileOff(j); off > prev {
				prev = off
			} else {
				sorted = false
			}
			n++
		}
	}
	if !sorted {
		l.order = make([]uint32, 0, n)
		for j := int64(0); j < int64(len(l.bat)); j++ {
			if l.placed(j) {
				l.order = append(l.order, uint32(j))
			}
		}
		slices.SortFunc(l.order, func(a, b uint32) int {
			x, y := l.extentOf(int64(a)), l.extentOf(int64(b))
			if c := cmp.Compare(x.off, y.off); c != 0 {
				return c
			}
			if c := cmp.Compare(x.kind, y.kind); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	var last extent // the block with the largest end so far
	have := false
	var k int64
	for j, ok := l.next(&k); ok; j, ok = l.next(&k) {
		x := l.extentOf(j)
		for _, r := range fixed {
			if x.off < r.off+r.n && r.off < x.off+x.n {
				return fmt.Errorf("%w: vhdx %s at %d, %d bytes, overlaps %s at %d, %d bytes",
					ErrCorrupt, batName(x, l.chunkRatio), x.off, x.n, r.name, r.off, r.n)
			}
		}
		if have && x.off < last.off+last.n {
			return fmt.Errorf("%w: vhdx %s at %d overlaps %s at %d, %d bytes",
				ErrCorrupt, batName(x, l.chunkRatio), x.off, batName(last, l.chunkRatio), last.off, last.n)
		}
		if !have || x.off+x.n > last.off+last.n {
			last, have = x, true
		}
	}
	return nil
}

// checkVHDXInFile checks that every block lies inside a file of size
// bytes. A block that starts at or past the end is both ErrCorrupt and
// ErrTruncated (a BAT entry pointing outside the file and a file cut short
// look the same); one that ends past it is ErrTruncated.
func checkVHDXInFile(blocks []extent, ratio, size int64) error {
	for _, x := range blocks {
		switch {
		case x.off >= size:
			return fmt.Errorf("%w (or %w): vhdx %s at %d lies beyond the end of the file (%d bytes)",
				ErrCorrupt, ErrTruncated, batName(x, ratio), x.off, size)
		case x.off+x.n > size:
			return fmt.Errorf("%w: vhdx %s at %d, %d bytes, ends past the end of the file (%d bytes)",
				ErrTruncated, batName(x, ratio), x.off, x.n, size)
		}
	}
	return nil
}
