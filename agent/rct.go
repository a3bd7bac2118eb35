package agent

import (
	"errors"
	"fmt"
	"sort"
)

// errNoRCT says resilient change tracking gave no answer for a disk: the
// agent then compares block digests.
var errNoRCT = errors.New("no resilient change tracking")

// rctRange is one changed range as QueryChangesVirtualDisk reports it.
type rctRange struct {
	Offset, Length, Reserved uint64
}

// rctQuery asks for the changes in [offset, offset+length): it fills out
// with up to len(out) ranges and returns how many, and how much of the
// region it covered (less than length when out was too small).
type rctQuery func(offset, length uint64, out []rctRange) (n int, processed uint64, err error)

// collectRCT walks a disk of size bytes with query, in as many calls as
// the range buffer needs, and returns the changed ranges merged and
// clipped to the disk.
func collectRCT(size int64, query rctQuery) ([]Change, error) {
	var cs []Change
	buf := make([]rctRange, 4096)
	for off := uint64(0); off < uint64(size); {
		n, processed, err := query(off, uint64(size)-off, buf)
		if err != nil {
			return nil, err
		}
		if n < 0 || n > len(buf) || processed == 0 && n == 0 {
			return nil, fmt.Errorf("%w: the query at %d covered nothing", errNoRCT, off)
		}
		for _, r := range buf[:n] {
			if r.Length == 0 || r.Offset >= uint64(size) {
				continue
			}
			cs = append(cs, Change{Offset: int64(r.Offset), Length: int64(min(r.Length, uint64(size)-r.Offset))})
		}
		if processed == 0 { // a full buffer that covered no bytes: go on after its last range
			last := buf[n-1]
			if last.Offset+last.Length <= off {
				return nil, fmt.Errorf("%w: the query at %d made no progress", errNoRCT, off)
			}
			processed = last.Offset + last.Length - off
		}
		off += processed
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Offset < cs[j].Offset })
	return normalizeChanges(cs, size, size), nil
}
