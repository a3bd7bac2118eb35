package main

import (
	"io"
	"os"
	"sync/atomic"

	"github.com/shadowvault/shadowvault/chunk"
)

// holeBlock is the granularity of holes in a restored file: an aligned
// block of this many zero bytes is skipped, not written.
const holeBlock = 64 << 10

// The download buffers of ReadFrom: copyBufs of copyBuf bytes (a multiple
// of holeBlock), so the client holds 4 MiB of a download at most.
const (
	copyBuf  = 1 << 20
	copyBufs = 4
)

// writeBackEvery is how many bytes written to the file start their
// write-back to the device (see startWriteBack): the fsync at the end then
// waits for the last of them only, not for the whole file.
const writeBackEvery = 16 << 20

// sparseFile writes a download into a new file, leaving aligned all-zero
// blocks as holes: a restored disk takes the space of its data, and empty
// regions cost no writes. ReadFrom (what io.Copy uses) reads and writes
// in parallel; finish sets the file's length.
type sparseFile struct {
	f      *os.File
	buf    []byte // Write: the block being filled, starting at off
	off    int64  // the file offset of the next byte
	synced int64  // the write-back was started up to here
	dirty  int64  // bytes written since
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
	err := s.writeBlocks(s.buf, s.off)
	s.off += int64(len(s.buf))
	s.buf = s.buf[:0]
	return err
}

// writeBlocks writes p, which starts at off (a multiple of holeBlock) in
// the file, skipping its all-zero blocks: each run of other blocks goes out
// in one write.
func (s *sparseFile) writeBlocks(p []byte, off int64) error {
	for start := 0; start < len(p); {
		end := min(start+holeBlock, len(p))
		if chunk.IsZero(p[start:end]) {
			start = end
			continue
		}
		for end < len(p) && !chunk.IsZero(p[end:min(end+holeBlock, len(p))]) {
			end = min(end+holeBlock, len(p))
		}
		if _, err := s.f.WriteAt(p[start:end], off+int64(start)); err != nil {
			return err
		}
		s.dirty += int64(end - start)
		start = end
	}
	if s.dirty >= writeBackEvery {
		end := off + int64(len(p))
		startWriteBack(s.f, s.synced, end-s.synced)
		s.synced, s.dirty = end, 0
	}
	return nil
}

// ReadFrom copies r into the file until r ends: this goroutine reads into
// up to copyBufs buffers while another writes the full ones, so the
// network and the file system work at the same time. It returns the bytes
// read from r; a failure to write ends the copy with the write's error,
// a failure to read (other than io.EOF) with the read's.
func (s *sparseFile) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	if len(s.buf) > 0 { // complete the block Write began
		k, err := io.CopyN(writerOnly{s}, r, int64(cap(s.buf)-len(s.buf)))
		if n += k; err != nil {
			if err == io.EOF {
				err = nil
			}
			return n, err
		}
	}
	free := make(chan []byte, copyBufs)
	for range copyBufs {
		free <- make([]byte, copyBuf)
	}
	full := make(chan []byte, copyBufs)
	done := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for p := range full {
			if err == nil {
				if err = s.writeBlocks(p, s.off); err != nil {
					failed.Store(true)
				}
				s.off += int64(len(p))
			}
			free <- p[:cap(p)]
		}
		done <- err
	}()
	var rerr error
	for !failed.Load() {
		p := <-free
		k, err := readFull(r, p)
		n += int64(k)
		if k > 0 {
			full <- p[:k]
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	close(full)
	if werr := <-done; werr != nil {
		return n, werr
	}
	return n, rerr
}

// readFull reads into p until it is full or r fails; io.EOF means the
// stream ended (after k bytes, perhaps 0).
func readFull(r io.Reader, p []byte) (int, error) {
	k := 0
	for k < len(p) {
		m, err := r.Read(p[k:])
		k += m
		if err != nil {
			return k, err
		}
	}
	return k, nil
}

// writerOnly hides everything but Write, so that io.CopyN does not call
// ReadFrom again.
type writerOnly struct{ io.Writer }

// finish writes what is left, gives the file its full length (a hole at
// the end counts).
func (s *sparseFile) finish() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.f.Truncate(s.off)
}
