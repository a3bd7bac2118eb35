package diskmap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/chunk"
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

// Encode returns the object bytes and their ID.
func (m *Map) Encode() ([]byte, chunk.ID) {
	b := make([]byte, 0, 64+len(m.Extents)*40+len(m.Recipe)*40)
	b = append(b, diskMapMagic...)
	b = binary.LittleEndian.AppendUint16(b, diskMapVersion)
	b = binary.AppendUvarint(b, uint64(m.VirtualSize))
	b = binary.AppendUvarint(b, uint64(len(m.Extents)))
	b = binary.AppendUvarint(b, uint64(len(m.Recipe)))
	for _, e := range m.Extents {
		b = append(b, byte(e.Kind))
		b = binary.AppendUvarint(b, uint64(e.Length))
		if e.Kind == ExtentData {
			b = append(b, e.ID[:]...)
		}
	}
	for _, p := range m.Recipe {
		b = append(b, byte(p.Kind))
		b = binary.AppendUvarint(b, uint64(p.Length))
		switch p.Kind {
		case PieceData:
			b = append(b, p.ID[:]...)
		case PieceVirtual:
			b = binary.AppendUvarint(b, uint64(p.VOffset))
		}
	}
	sum := chunk.Sum(b)
	b = append(b, sum[:]...)
	return b, chunk.Sum(b)
}

// Decode parses and checks a disk map object.
func Decode(data []byte) (*Map, error) {
	if len(data) < 6+chunk.IDSize || string(data[:4]) != diskMapMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body := data[:len(data)-chunk.IDSize]
	if chunk.Sum(body) != chunk.ID(data[len(body):]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	switch v := binary.LittleEndian.Uint16(data[4:]); v {
	case 1:
	default:
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, v)
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
	m := &Map{}
	err := catchDecode(func() {
		m.VirtualSize = uv()
		ne, np := uv(), uv()
		if ne > maxMapEntries || np > maxMapEntries {
			panic(errMapDecode)
		}
		m.Extents = make([]Extent, 0, ne)
		var off int64
		for i := int64(0); i < ne; i++ {
			k, err := r.ReadByte()
			if err != nil {
				panic(errMapDecode)
			}
			e := Extent{Offset: off, Kind: ExtentKind(k), Length: uv()}
			switch e.Kind {
			case ExtentData:
				e.ID = id()
			case ExtentZero, ExtentParent:
			default:
				panic(errMapDecode)
			}
			off += e.Length
			m.Extents = append(m.Extents, e)
		}
		if off != m.VirtualSize {
			panic(errMapDecode)
		}
		m.Recipe = make([]Piece, 0, np)
		for i := int64(0); i < np; i++ {
			k, err := r.ReadByte()
			if err != nil {
				panic(errMapDecode)
			}
			p := Piece{Kind: PieceKind(k), Length: uv()}
			switch p.Kind {
			case PieceData:
				p.ID = id()
			case PieceVirtual:
				p.VOffset = uv()
				if p.VOffset+p.Length > m.VirtualSize {
					panic(errMapDecode)
				}
			case PieceZero:
			default:
				panic(errMapDecode)
			}
			m.Recipe = append(m.Recipe, p)
		}
	})
	if err != nil || r.Len() != 0 {
		return nil, fmt.Errorf("%w: malformed body", ErrCorrupt)
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
