package s3

import (
	"fmt"
	"io"
)

// uploadBody adapts r for minio-go, which reads the parts of a ReaderAt
// from offset 0 and in parallel, seeks any other body to 0 before sending
// it, and closes bodies that are io.Closers. The result covers exactly the
// size bytes from r's current position and has no Close.
func uploadBody(r io.ReadSeeker, size int64) (io.Reader, error) {
	pos, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	if ra, ok := r.(io.ReaderAt); ok {
		return io.NewSectionReader(ra, pos, size), nil
	}
	return &window{r: r, start: pos, size: size}, nil
}

// window is the part [start, start+size) of a ReadSeeker, seen as a
// ReadSeeker of its own.
type window struct {
	r                io.ReadSeeker
	start, size, off int64 // off is relative to start
}

func (w *window) Read(p []byte) (int, error) {
	if w.off >= w.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), w.size-w.off)]
	n, err := w.r.Read(p)
	w.off += int64(n)
	return n, err
}

func (w *window) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += w.off
	case io.SeekEnd:
		off += w.size
	}
	if off < 0 {
		return 0, fmt.Errorf("seek to %d: negative position", off)
	}
	if _, err := w.r.Seek(w.start+off, io.SeekStart); err != nil {
		return 0, err
	}
	w.off = off
	return off, nil
}
