package pack

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/shadowvault/shadowvault/chunk"
)

// A file-backed writer keeps the pack in a file instead of in memory: the
// blobs go through a small buffer to the file as they are added, and the
// pack's name is hashed on the way. Memory per pack in flight is then the
// buffer, not the pack.

// spillBuffer is the write buffer of a file-backed writer.
const spillBuffer = 256 << 10

// NewFileWriter returns a writer of a pack of this codec that writes to f
// (empty, opened for reading and writing). FinishFile ends it.
func (c Codec) NewFileWriter(f *os.File) *Writer {
	return &Writer{codec: c, file: &spill{f: f, w: bufio.NewWriterSize(f, spillBuffer), sum: chunk.NewDigest()}}
}

// spill is where a file-backed writer puts the pack.
type spill struct {
	f   *os.File
	w   *bufio.Writer
	sum *chunk.Digest
	n   int64
	err error // the first write error; Add cannot return one
}

func (s *spill) write(p []byte) {
	if s.err != nil {
		return
	}
	if _, err := s.w.Write(p); err != nil {
		s.err = err
		return
	}
	s.sum.Write(p)
	s.n += int64(len(p))
}

// File returns the file of a file-backed writer (nil for one in memory).
func (w *Writer) File() *os.File {
	if w.file == nil {
		return nil
	}
	return w.file.f
}

// FinishFile appends the trailer and footer to the file of a file-backed
// writer, flushes it and returns the pack's size and name, with the file
// positioned at its start for reading.
func (w *Writer) FinishFile() (int64, chunk.ID, error) {
	s := w.file
	if s == nil {
		return 0, chunk.ID{}, fmt.Errorf("finish file: the pack is in memory")
	}
	trailer, err := w.trailer(nil)
	if err != nil {
		return 0, chunk.ID{}, err
	}
	s.write(trailer)
	s.write(w.footer(trailer))
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err == nil {
		_, s.err = s.f.Seek(0, io.SeekStart)
	}
	if s.err != nil {
		return 0, chunk.ID{}, fmt.Errorf("write pack file: %w", s.err)
	}
	return s.n, s.sum.ID(), nil
}
