package diskmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/chunk"
)

// ScanRefs reads an encoded disk map from r and calls fn for every chunk
// it references, in the order Chunks gives them, without holding the map:
// it reads the object in pieces of 1 MiB. A map of a 2 TiB disk of 128 KiB
// chunks is 550 MB encoded, and 900 MB decoded. It accepts exactly the
// objects Decode accepts, but it can only tell at the end: after an error
// wrapping ErrCorrupt, some of the IDs fn saw may not be the map's. It
// returns the BLAKE3 of the object's bytes, which is its name. An error
// reading r is returned as it is.
func ScanRefs(r io.Reader, fn func(chunk.ID)) (chunk.ID, error) {
	s := &refScanner{r: r, buf: make([]byte, 0, 1<<20), body: blake3.New(), all: blake3.New()}
	if err := s.scan(fn); err != nil {
		if errors.Is(err, errMapDecode) {
			return chunk.ID{}, fmt.Errorf("%w: malformed body", ErrCorrupt)
		}
		return chunk.ID{}, err
	}
	var name chunk.ID
	s.all.Sum(name[:0])
	return name, nil
}

// refScanner parses a disk map object from a window of it: buf[pos:] is
// what was read and not parsed yet. Bytes leave the window into the
// hashes: body (the checksum's input) until the body ends, all throughout.
type refScanner struct {
	r         io.Reader
	buf       []byte
	pos       int
	eof       bool
	body, all *blake3.Hasher
	inBody    bool
}

// need makes n bytes available at pos, or as many as are left; it
// reports whether n are.
func (s *refScanner) need(n int) (bool, error) {
	for len(s.buf)-s.pos < n && !s.eof {
		done := s.buf[:s.pos]
		_, _ = s.all.Write(done)
		if s.inBody {
			_, _ = s.body.Write(done)
		}
		s.buf = s.buf[:copy(s.buf, s.buf[s.pos:])]
		s.pos = 0
		m, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+m]
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			return false, fmt.Errorf("read disk map: %w", err)
		}
	}
	return len(s.buf)-s.pos >= n, nil
}

// uvarint parses one uvarint of at most 1<<62.
func (s *refScanner) uvarint() (int64, error) {
	if _, err := s.need(binary.MaxVarintLen64); err != nil {
		return 0, err
	}
	v, n := binary.Uvarint(s.buf[s.pos:])
	if n <= 0 || v > 1<<62 {
		return 0, errMapDecode
	}
	s.pos += n
	return int64(v), nil
}

// id parses one chunk ID.
func (s *refScanner) id() (chunk.ID, error) {
	var id chunk.ID
	if ok, err := s.need(chunk.IDSize); err != nil || !ok {
		return id, orDecodeErr(err)
	}
	s.pos += copy(id[:], s.buf[s.pos:])
	return id, nil
}

// kind parses one kind byte.
func (s *refScanner) kind() (byte, error) {
	if ok, err := s.need(1); err != nil || !ok {
		return 0, orDecodeErr(err)
	}
	s.pos++
	return s.buf[s.pos-1], nil
}

// orDecodeErr is err, or errMapDecode for bytes missing at the end.
func orDecodeErr(err error) error {
	if err != nil {
		return err
	}
	return errMapDecode
}

// scan parses the object: the fields of Decode, in order, and then the
// checksum of the body and the end of the object.
func (s *refScanner) scan(fn func(chunk.ID)) error {
	s.inBody = true
	if ok, err := s.need(6); err != nil || !ok {
		return orDecodeErr(err)
	}
	if string(s.buf[s.pos:s.pos+4]) != diskMapMagic || binary.LittleEndian.Uint16(s.buf[s.pos+4:]) != diskMapVersion {
		return errMapDecode
	}
	s.pos += 6
	var head [3]int64
	for i := range head {
		v, err := s.uvarint()
		if err != nil {
			return err
		}
		head[i] = v
	}
	size, ne, np := head[0], head[1], head[2]
	if ne > maxMapEntries || np > maxMapEntries {
		return errMapDecode
	}
	var off int64
	for i := int64(0); i < ne; i++ {
		k, err := s.kind()
		if err != nil {
			return err
		}
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		switch ExtentKind(k) {
		case ExtentData:
			id, err := s.id()
			if err != nil {
				return err
			}
			fn(id)
		case ExtentZero, ExtentParent:
		default:
			return errMapDecode
		}
		off += n
	}
	if off != size {
		return errMapDecode
	}
	for i := int64(0); i < np; i++ {
		k, err := s.kind()
		if err != nil {
			return err
		}
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		switch PieceKind(k) {
		case PieceData:
			id, err := s.id()
			if err != nil {
				return err
			}
			fn(id)
		case PieceVirtual:
			v, err := s.uvarint()
			if err != nil {
				return err
			}
			if v+n > size {
				return errMapDecode
			}
		case PieceZero:
		default:
			return errMapDecode
		}
	}
	return s.trailer()
}

// trailer checks the checksum that follows the body, and that nothing
// follows it.
func (s *refScanner) trailer() error {
	_, _ = s.body.Write(s.buf[:s.pos])
	_, _ = s.all.Write(s.buf[:s.pos])
	s.buf = s.buf[:copy(s.buf, s.buf[s.pos:])]
	s.pos, s.inBody = 0, false
	var sum chunk.ID
	s.body.Sum(sum[:0])
	got, err := s.id()
	if err != nil {
		return err
	}
	if got != sum {
		return errMapDecode
	}
	if more, err := s.need(1); err != nil || more {
		return orDecodeErr(err)
	}
	_, _ = s.all.Write(s.buf[:s.pos])
	return nil
}
