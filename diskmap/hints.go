package diskmap

import (
	"errors"
	"fmt"
	"sort"
)

// Hints come from a guest-aware agent that read the disk's filesystem:
// offsets where files begin and end (the chunker cuts there, so the same
// file content makes the same chunks wherever it sits), and ranges the
// guest filesystem does not use (stored as zeros when excluded).
type Hints struct {
	Cuts []int64 `json:"boundaries"`
	Free []Range `json:"free"`
}

// ErrBadHints is returned for hints that are malformed or outside the disk.
var ErrBadHints = errors.New("bad disk hints")

// maxHints bounds the entries of one disk's hints.
const maxHints = 1 << 24

// Normalize sorts, merges and checks the hints: offsets sector aligned,
// non-negative, ranges non-empty.
func (h *Hints) Normalize() error {
	if len(h.Cuts)+len(h.Free) > maxHints {
		return fmt.Errorf("%w: %d entries, at most %d", ErrBadHints, len(h.Cuts)+len(h.Free), maxHints)
	}
	for _, c := range h.Cuts {
		if c < 0 || c%512 != 0 {
			return fmt.Errorf("%w: boundary %d is not a sector offset", ErrBadHints, c)
		}
	}
	sort.Slice(h.Cuts, func(i, j int) bool { return h.Cuts[i] < h.Cuts[j] })
	cuts := h.Cuts[:0]
	for i, c := range h.Cuts {
		if i == 0 || c != h.Cuts[i-1] {
			cuts = append(cuts, c)
		}
	}
	h.Cuts = cuts
	for _, r := range h.Free {
		if r.Off < 0 || r.Len <= 0 || r.Off%512 != 0 || r.Len%512 != 0 || r.Off+r.Len < r.Off {
			return fmt.Errorf("%w: free range %d+%d is not sector aligned", ErrBadHints, r.Off, r.Len)
		}
	}
	h.Free = MergeRanges(h.Free)
	return nil
}

// Check verifies that the hints lie inside a disk of size bytes.
func (h *Hints) Check(size int64) error {
	if n := len(h.Cuts); n > 0 && h.Cuts[n-1] > size {
		return fmt.Errorf("%w: boundary %d past the disk's end %d", ErrBadHints, h.Cuts[n-1], size)
	}
	if n := len(h.Free); n > 0 && h.Free[n-1].Off+h.Free[n-1].Len > size {
		return fmt.Errorf("%w: free range past the disk's end %d", ErrBadHints, size)
	}
	return nil
}

// NextCut returns the first cut after v, or -1.
func (h *Hints) NextCut(v int64) int64 {
	i := sort.Search(len(h.Cuts), func(i int) bool { return h.Cuts[i] > v })
	if i == len(h.Cuts) {
		return -1
	}
	return h.Cuts[i]
}

// IsCut reports whether v is a cut.
func (h *Hints) IsCut(v int64) bool {
	i := sort.Search(len(h.Cuts), func(i int) bool { return h.Cuts[i] >= v })
	return i < len(h.Cuts) && h.Cuts[i] == v
}

// FreeAt reports whether v is free and where that state changes (-1: never).
func (h *Hints) FreeAt(v int64) (bool, int64) {
	i := sort.Search(len(h.Free), func(i int) bool { return h.Free[i].Off+h.Free[i].Len > v })
	if i == len(h.Free) {
		return false, -1
	}
	if r := h.Free[i]; r.Off <= v {
		return true, r.Off + r.Len
	}
	return false, h.Free[i].Off
}
