package diskmap

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/shadowvault/shadowvault/chunk"
)

// Segment is a run of bytes to produce when reading a disk: N bytes of
// chunk ID after skipping Skip of them, or N zero bytes when ID is zero.
type Segment struct {
	ID      chunk.ID
	Skip, N int64
}

// Zero reports whether the segment is zeros.
func (s Segment) Zero() bool { return s.ID.IsZero() }

// Emit receives segments in order; an error stops the walk.
type Emit func(Segment) error

// VirtualSegments walks virtual range [off, off+n) of m. Parent extents
// are passed to parent (nil: ErrNoParent) with their own range.
func (m *Map) VirtualSegments(off, n int64, parent func(off, n int64) error, emit Emit) error {
	if off < 0 || n < 0 || off+n > m.VirtualSize {
		return fmt.Errorf("read [%d,+%d) of a %d byte disk: %w", off, n, m.VirtualSize, io.ErrUnexpectedEOF)
	}
	ext := m.Extents
	i := sort.Search(len(ext), func(i int) bool { return ext[i].Offset+ext[i].Length > off })
	for end := off + n; off < end && i < len(ext); i++ {
		e := ext[i]
		skip := off - e.Offset
		take := min(e.Length-skip, end-off)
		var err error
		switch e.Kind {
		case ExtentData:
			err = emit(Segment{ID: e.ID, Skip: skip, N: take})
		case ExtentZero:
			err = emit(Segment{N: take})
		case ExtentParent:
			if parent == nil {
				return fmt.Errorf("read at %d: %w", off, ErrNoParent)
			}
			err = parent(off, take)
		}
		if err != nil {
			return err
		}
		off += take
	}
	return nil
}

// ErrNoParent is returned when a differencing disk is read without its parent.
var ErrNoParent = errors.New("parent disk not available")

// HasParentExtents reports whether any of m's content is the parent's.
func (m *Map) HasParentExtents() bool {
	for _, e := range m.Extents {
		if e.Kind == ExtentParent && e.Length > 0 {
			return true
		}
	}
	return false
}
