package diskmap

import (
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
)

// ExtentKind says what backs a range of virtual disk content.
type ExtentKind uint8

// Extent kinds.
const (
	ExtentData   ExtentKind = 1 + iota // one chunk
	ExtentZero                         // zeros, never stored
	ExtentParent                       // the parent disk's content (differencing disks)
)

func (k ExtentKind) String() string {
	switch k {
	case ExtentData:
		return "data"
	case ExtentZero:
		return "zero"
	case ExtentParent:
		return "parent"
	}
	return fmt.Sprintf("extent(%d)", uint8(k))
}

// Extent is a range of a disk's virtual content. A data extent is exactly
// one chunk of Length bytes.
type Extent struct {
	Offset int64
	Length int64
	Kind   ExtentKind
	ID     chunk.ID // data extents only
}

// PieceKind says where a range of the uploaded container file comes from.
type PieceKind uint8

// Recipe piece kinds.
const (
	PieceData    PieceKind = 1 + iota // container bytes stored as one chunk
	PieceZero                         // container bytes that are all zero
	PieceVirtual                      // the disk's virtual content at VOffset
)

func (k PieceKind) String() string {
	switch k {
	case PieceData:
		return "data"
	case PieceZero:
		return "zero"
	case PieceVirtual:
		return "virtual"
	}
	return fmt.Sprintf("piece(%d)", uint8(k))
}

// Piece is one part of a container recipe: the uploaded file is its pieces
// laid end to end.
type Piece struct {
	Length  int64
	Kind    PieceKind
	ID      chunk.ID // data pieces
	VOffset int64    // virtual pieces
}
