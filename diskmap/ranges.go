package diskmap

import (
	"cmp"
	"slices"
)

// Range is a byte range of a disk's virtual content.
type Range struct {
	Off int64 `json:"off"`
	Len int64 `json:"len"`
}

// End returns the first byte after r.
func (r Range) End() int64 { return r.Off + r.Len }

// MergeRanges sorts rs and joins overlapping and adjacent ranges, in
// place; empty ranges are dropped.
func MergeRanges(rs []Range) []Range {
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Off, b.Off) })
	out := rs[:0]
	for _, r := range rs {
		if r.Len <= 0 {
			continue
		}
		if n := len(out); n > 0 && r.Off <= out[n-1].End() {
			out[n-1].Len = max(out[n-1].End(), r.End()) - out[n-1].Off
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// SubtractRanges returns a minus b; both are sorted and merged.
func SubtractRanges(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, r := range a {
		off, end := r.Off, r.End()
		for j < len(b) && b[j].End() <= off {
			j++
		}
		for k := j; k < len(b) && b[k].Off < end; k++ {
			if b[k].Off > off {
				out = append(out, Range{off, b[k].Off - off})
			}
			off = max(off, b[k].End())
		}
		if off < end {
			out = append(out, Range{off, end - off})
		}
	}
	return out
}
