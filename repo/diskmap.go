package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Disk map object format, version 1 (little endian, uvarints):
//
//	magic "SVDM" | version u16 | virtual size | extent count | piece count
//	extents: kind u8 | length | ID (data only)   (offsets are cumulative)
//	pieces:  kind u8 | length | ID (data) or virtual offset (virtual)
//	BLAKE3-256 of everything before it (32 bytes)
//
// The object's name is the BLAKE3 of its bytes.
const (
	diskMapMagic   = "SVDM"
	diskMapVersion = 1
	// maxMapEntries bounds decoding of an untrusted object.
	maxMapEntries = 1 << 26
)

// ErrCorruptMap is returned for a disk map that does not decode or check.
var ErrCorruptMap = errors.New("corrupt disk map")

// DiskMap is a disk's virtual content and the recipe of its container file.
type DiskMap struct {
	VirtualSize int64
	Extents     []chunk.Extent // sorted, contiguous, covering [0, VirtualSize)
	Recipe      []chunk.Piece  // the uploaded file, piece after piece
}

// Encode returns the object bytes and their ID.
func (m *DiskMap) Encode() ([]byte, chunk.ID) {
	b := make([]byte, 0, 64+len(m.Extents)*40+len(m.Recipe)*40)
	b = append(b, diskMapMagic...)
	b = binary.LittleEndian.AppendUint16(b, diskMapVersion)
	b = binary.AppendUvarint(b, uint64(m.VirtualSize))
	b = binary.AppendUvarint(b, uint64(len(m.Extents)))
	b = binary.AppendUvarint(b, uint64(len(m.Recipe)))
	for _, e := range m.Extents {
		b = append(b, byte(e.Kind))
		b = binary.AppendUvarint(b, uint64(e.Length))
		if e.Kind == chunk.ExtentData {
			b = append(b, e.ID[:]...)
		}
	}
	for _, p := range m.Recipe {
		b = append(b, byte(p.Kind))
		b = binary.AppendUvarint(b, uint64(p.Length))
		switch p.Kind {
		case chunk.PieceData:
			b = append(b, p.ID[:]...)
		case chunk.PieceVirtual:
			b = binary.AppendUvarint(b, uint64(p.VOffset))
		}
	}
	sum := chunk.Sum(b)
	b = append(b, sum[:]...)
	return b, chunk.Sum(b)
}

// DecodeDiskMap parses and checks a disk map object.
func DecodeDiskMap(data []byte) (*DiskMap, error) {
	if len(data) < 6+chunk.IDSize || string(data[:4]) != diskMapMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorruptMap)
	}
	body := data[:len(data)-chunk.IDSize]
	if chunk.Sum(body) != chunk.ID(data[len(body):]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptMap)
	}
	switch v := binary.LittleEndian.Uint16(data[4:]); v {
	case 1:
	default:
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorruptMap, v)
	}
	r := bytes.NewReader(body[6:])
	uv := func() int64 {
		v, err := binary.ReadUvarint(r)
		if err != nil || v > 1<<62 {
			panic(errMapDecode)
		}
		return int64(v)
	}
	id := func() (x chunk.ID) {
		if _, err := io.ReadFull(r, x[:]); err != nil {
			panic(errMapDecode)
		}
		return x
	}
	m := &DiskMap{}
	err := catchDecode(func() {
		m.VirtualSize = uv()
		ne, np := uv(), uv()
		if ne > maxMapEntries || np > maxMapEntries {
			panic(errMapDecode)
		}
		m.Extents = make([]chunk.Extent, 0, ne)
		var off int64
		for i := int64(0); i < ne; i++ {
			k, err := r.ReadByte()
			if err != nil {
				panic(errMapDecode)
			}
			e := chunk.Extent{Offset: off, Kind: chunk.ExtentKind(k), Length: uv()}
			switch e.Kind {
			case chunk.ExtentData:
				e.ID = id()
			case chunk.ExtentZero, chunk.ExtentParent:
			default:
				panic(errMapDecode)
			}
			off += e.Length
			m.Extents = append(m.Extents, e)
		}
		if off != m.VirtualSize {
			panic(errMapDecode)
		}
		m.Recipe = make([]chunk.Piece, 0, np)
		for i := int64(0); i < np; i++ {
			k, err := r.ReadByte()
			if err != nil {
				panic(errMapDecode)
			}
			p := chunk.Piece{Kind: chunk.PieceKind(k), Length: uv()}
			switch p.Kind {
			case chunk.PieceData:
				p.ID = id()
			case chunk.PieceVirtual:
				p.VOffset = uv()
				if p.VOffset+p.Length > m.VirtualSize {
					panic(errMapDecode)
				}
			case chunk.PieceZero:
			default:
				panic(errMapDecode)
			}
			m.Recipe = append(m.Recipe, p)
		}
	})
	if err != nil || r.Len() != 0 {
		return nil, fmt.Errorf("%w: malformed body", ErrCorruptMap)
	}
	return m, nil
}

var errMapDecode = errors.New("decode")

func catchDecode(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r != errMapDecode {
				panic(r)
			}
			err = errMapDecode
		}
	}()
	f()
	return nil
}

// RecipeSize is the length of the file the recipe reproduces.
func (m *DiskMap) RecipeSize() int64 {
	var n int64
	for _, p := range m.Recipe {
		n += p.Length
	}
	return n
}

// Chunks calls fn for every chunk the map references.
func (m *DiskMap) Chunks(fn func(chunk.ID)) {
	for _, e := range m.Extents {
		if e.Kind == chunk.ExtentData {
			fn(e.ID)
		}
	}
	for _, p := range m.Recipe {
		if p.Kind == chunk.PieceData {
			fn(p.ID)
		}
	}
}

func (r *Repository) saveDiskMap(ctx context.Context, m *DiskMap) (chunk.ID, error) {
	data, id := m.Encode()
	h := backend.Handle{Type: backend.TypeDiskMap, Name: id.String()}
	if err := r.be.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
		return id, fmt.Errorf("store disk map: %w", err)
	}
	return id, nil
}

// LoadDiskMap reads a disk map object.
func (r *Repository) LoadDiskMap(ctx context.Context, id chunk.ID) (*DiskMap, error) {
	data, err := backend.ReadAll(ctx, r.be, backend.Handle{Type: backend.TypeDiskMap, Name: id.String()})
	if err != nil {
		return nil, fmt.Errorf("load disk map %s: %w", id.Short(), err)
	}
	if chunk.Sum(data) != id {
		return nil, fmt.Errorf("load disk map %s: %w: name does not match content", id.Short(), ErrCorruptMap)
	}
	return DecodeDiskMap(data)
}
