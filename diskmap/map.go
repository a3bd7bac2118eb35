package diskmap

import (
	"errors"

	"github.com/shadowvault/shadowvault/chunk"
)

// ErrCorrupt is returned for a disk map that does not decode or check.
var ErrCorrupt = errors.New("corrupt disk map")

// Map is a disk's virtual content and the recipe of its container file.
type Map struct {
	VirtualSize int64
	Extents     []Extent // sorted, contiguous, covering [0, VirtualSize)
	Recipe      []Piece  // the uploaded file, piece after piece
}

// RecipeSize is the length of the file the recipe reproduces.
func (m *Map) RecipeSize() int64 {
	var n int64
	for _, p := range m.Recipe {
		n += p.Length
	}
	return n
}

// Chunks calls fn for every chunk the map references.
func (m *Map) Chunks(fn func(chunk.ID)) {
	for _, e := range m.Extents {
		if e.Kind == ExtentData {
			fn(e.ID)
		}
	}
	for _, p := range m.Recipe {
		if p.Kind == PieceData {
			fn(p.ID)
		}
	}
}
