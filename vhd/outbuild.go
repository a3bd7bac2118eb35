package vhd

import (
	"bytes"
	"math"
)

// Building an Output: the writers of VHD and VHDX append their metadata
// in file order (addMeta, addZeros), the data area (addData) and what
// follows it; Size is then the end of the last.

// metaSector is the granularity at which addMeta leaves out zeros.
const metaSector = 512

// addMeta appends the metadata bytes b. Runs of zero sectors are kept as
// zero spans without their bytes, so that a mostly empty structure (a
// 64 KiB region table, a 1 MiB metadata region) costs only its content.
func (o *Output) addMeta(b []byte) {
	for i := 0; i < len(b); {
		zero := isZero(b[i:min(i+metaSector, len(b))])
		j := i
		for j < len(b) && isZero(b[j:min(j+metaSector, len(b))]) == zero {
			j = min(j+metaSector, len(b))
		}
		switch {
		case zero:
			o.addZeros(int64(j - i))
		case i == 0 && j == len(b):
			o.addSpan(span{off: o.size, n: int64(len(b)), b: b})
		default:
			o.addSpan(span{off: o.size, n: int64(j - i), b: bytes.Clone(b[i:j])})
		}
		i = j
	}
}

// addZeros appends n zero bytes of metadata.
func (o *Output) addZeros(n int64) {
	if n <= 0 {
		return
	}
	if l := len(o.meta); l > 0 && o.meta[l-1].b == nil && o.meta[l-1].off+o.meta[l-1].n == o.size {
		o.meta[l-1].n += n
		o.size += n
		return
	}
	o.addSpan(span{off: o.size, n: n})
}

func (o *Output) addSpan(s span) {
	o.meta = append(o.meta, s)
	o.size += s.n
}

// addData appends the data area: for each of blocks, the prefix and bs
// bytes of the block's content (zeros past the end of the disk).
func (o *Output) addData(blocks []uint32, bs int64, prefix []byte) {
	o.blocks, o.bs, o.prefix = blocks, bs, prefix
	o.unit = int64(len(prefix)) + bs
	o.dataOff = o.size
	o.size += int64(len(blocks)) * o.unit
	o.dataEnd = o.size
}

func isZero(b []byte) bool { return bytes.Equal(b, zeros[:len(b)]) }

// allocatedList lists the blocks of bs bytes of the first size bytes of d
// that are Allocated, in order.
func allocatedList(d Disk, size, bs int64) []uint32 {
	var a []uint32
	for i := int64(0); i*bs < size && i <= math.MaxUint32; i++ {
		off := i * bs
		if d.Allocated(off, min(bs, d.Size()-off)) {
			a = append(a, uint32(i))
		}
	}
	return a
}
