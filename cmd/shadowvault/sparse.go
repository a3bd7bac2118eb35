package main

import (
	"os"

	"github.com/shadowvault/shadowvault/chunk"
)

// holeBlock is the granularity of holes in a restored file: an aligned
// block of this many zero bytes is skipped, not written.
const holeBlock = 64 << 10

// sparseFile writes a download into a file, leaving aligned all-zero
// blocks as holes: a restored disk takes the space of its data, and empty
// regions cost no writes. finish sets the file's length.
type sparseFile struct {
	f   *os.File
	buf []byte // the block being filled, starting at off
	off int64
}

func newSparseFile(f *os.File) *sparseFile {
	return &sparseFile{f: f, buf: make([]byte, 0, holeBlock)}
}

func (s *sparseFile) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		if len(s.buf) == cap(s.buf) {
			if err := s.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush writes the block being filled, unless it is all zero.
func (s *sparseFile) flush() error {
	if len(s.buf) > 0 && !chunk.IsZero(s.buf) {
		if _, err := s.f.WriteAt(s.buf, s.off); err != nil {
			return err
		}
	}
	s.off += int64(len(s.buf))
	s.buf = s.buf[:0]
	return nil
}

// finish writes what is left and gives the file its full length (a hole at
// the end counts).
func (s *sparseFile) finish() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.f.Truncate(s.off)
}
