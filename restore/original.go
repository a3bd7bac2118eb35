package restore

import (
	"fmt"
	"sort"

	"github.com/shadowvault/shadowvault/diskmap"
)

// recipe is the uploaded container's recipe with the end of each piece in
// the file, so that a range of the original file is found without walking
// the pieces before it.
type recipe struct {
	pieces []diskmap.Piece
	ends   []int64 // ends[i] is where piece i ends in the file
}

func newRecipe(m *diskmap.Map) *recipe {
	r := &recipe{pieces: m.Recipe, ends: make([]int64, len(m.Recipe))}
	var off int64
	for i, p := range m.Recipe {
		off += p.Length
		r.ends[i] = off
	}
	return r
}

// size is the length of the original file.
func (r *recipe) size() int64 {
	if len(r.ends) == 0 {
		return 0
	}
	return r.ends[len(r.ends)-1]
}

// originalSegments emits the segments of [off, off+n) of the uploaded
// container file: container bytes stored as chunks, zero runs, and ranges
// of the virtual content (the disk's own map; a recipe never reads a
// parent).
func (d *Disk) originalSegments(off, n int64, emit diskmap.Emit) error {
	r := d.recipe
	i := sort.Search(len(r.ends), func(i int) bool { return r.ends[i] > off })
	for end := off + n; off < end; i++ {
		if i == len(r.pieces) {
			return fmt.Errorf("recipe of %d bytes, read at %d: %w", r.size(), off, ErrBadRange)
		}
		p := r.pieces[i]
		skip := off - (r.ends[i] - p.Length)
		take := min(p.Length-skip, end-off)
		if take <= 0 {
			continue
		}
		var err error
		switch p.Kind {
		case diskmap.PieceData:
			err = emit(diskmap.Segment{ID: p.ID, Skip: skip, N: take})
		case diskmap.PieceZero:
			err = emit(diskmap.Segment{N: take})
		case diskmap.PieceVirtual:
			err = d.c.segments(p.VOffset+skip, take, emit)
		default:
			err = fmt.Errorf("recipe piece %d: unknown kind %v", i, p.Kind)
		}
		if err != nil {
			return err
		}
		off += take
	}
	return nil
}
