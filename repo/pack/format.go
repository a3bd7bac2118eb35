package pack

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
)

// Format constants.
const (
	Magic = "SVPK"
	// Version is the plain pack format; version 2 is the sealed one of
	// an encrypted repository (Codec).
	Version    = 1
	EntrySize  = chunk.IDSize + 8 + 4 + 4 + 1
	FooterSize = 4 + 2 + 2 + 4 + 4 + chunk.IDSize
	// MaxEntries bounds a trailer read from an untrusted pack.
	MaxEntries = 1 << 20
)

// ErrCorrupt reports a pack whose footer or trailer does not check.
var ErrCorrupt = errors.New("corrupt pack")

// Entry locates one chunk inside a pack.
type Entry struct {
	ID          chunk.ID
	Offset      uint64
	Length      uint32 // stored bytes
	RawLength   uint32
	Compression chunk.Compression
}

func (e Entry) put(p []byte) {
	copy(p, e.ID[:])
	binary.LittleEndian.PutUint64(p[32:], e.Offset)
	binary.LittleEndian.PutUint32(p[40:], e.Length)
	binary.LittleEndian.PutUint32(p[44:], e.RawLength)
	p[48] = byte(e.Compression)
}

func parseEntry(p []byte) Entry {
	var e Entry
	copy(e.ID[:], p)
	e.Offset = binary.LittleEndian.Uint64(p[32:])
	e.Length = binary.LittleEndian.Uint32(p[40:])
	e.RawLength = binary.LittleEndian.Uint32(p[44:])
	e.Compression = chunk.Compression(p[48])
	return e
}

// footer is the decoded fixed footer.
type footer struct {
	version    uint16
	count      uint32
	trailerLen uint32
	sum        chunk.ID
}

func (f footer) bytes() []byte {
	p := make([]byte, FooterSize)
	copy(p, Magic)
	binary.LittleEndian.PutUint16(p[4:], f.version)
	binary.LittleEndian.PutUint32(p[8:], f.count)
	binary.LittleEndian.PutUint32(p[12:], f.trailerLen)
	copy(p[16:], f.sum[:])
	return p
}

func (c Codec) parseFooter(p []byte, packSize int64) (footer, error) {
	var f footer
	if len(p) != FooterSize || string(p[:4]) != Magic {
		return f, fmt.Errorf("%w: bad footer magic", ErrCorrupt)
	}
	switch v := binary.LittleEndian.Uint16(p[4:]); v {
	case c.version():
	case 1, 2:
		return f, fmt.Errorf("%w: a version %d pack in a repository of version %d packs", ErrCorrupt, v, c.version())
	default:
		return f, fmt.Errorf("%w: unknown pack version %d", ErrCorrupt, v)
	}
	f.version = c.version()
	f.count = binary.LittleEndian.Uint32(p[8:])
	f.trailerLen = binary.LittleEndian.Uint32(p[12:])
	copy(f.sum[:], p[16:])
	if f.count > MaxEntries || uint64(f.trailerLen) != c.trailerSize(f.count) ||
		int64(f.trailerLen)+FooterSize > packSize {
		return f, fmt.Errorf("%w: %d entries, trailer of %d bytes in a pack of %d", ErrCorrupt, f.count, f.trailerLen, packSize)
	}
	return f, nil
}
