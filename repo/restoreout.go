package repo

import (
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/diskmap"
)

// zeros is what zero segments are written from.
var zeros = make([]byte, 1<<20)

// runWriter writes a restore's output in as few calls as it can: the bytes
// of consecutive segments that lie next to each other in memory (chunks
// stored raw side by side in a pack, or decoded one after the other) go
// out in one Write, and so do consecutive zero segments (in pieces of
// len(zeros)).
type runWriter struct {
	w       io.Writer
	pending []byte // bytes not written yet, one run in memory
	zero    int64  // zeros not written yet (pending is empty then)
	n       int64  // bytes written to w
}

// segment queues the bytes of s; data is its chunk (nil for zeros).
func (rw *runWriter) segment(s diskmap.Segment, data []byte) error {
	if s.Zero() {
		if err := rw.flushData(); err != nil {
			return err
		}
		rw.zero += s.N
		return nil
	}
	if s.Skip < 0 || s.N < 0 || s.Skip+s.N > int64(len(data)) {
		return fmt.Errorf("chunk %s: %d bytes, extent wants [%d,+%d)", s.ID.Short(), len(data), s.Skip, s.N)
	}
	if err := rw.flushZeros(); err != nil {
		return err
	}
	b := data[s.Skip : s.Skip+s.N]
	if len(b) == 0 {
		return nil
	}
	if adjacent(rw.pending, b) {
		rw.pending = rw.pending[:len(rw.pending)+len(b)]
		return nil
	}
	if err := rw.flushData(); err != nil {
		return err
	}
	rw.pending = b
	return nil
}

// adjacent reports whether b starts in memory where a ends, inside a's
// capacity: then a[:len(a)+len(b)] is a followed by b.
func adjacent(a, b []byte) bool {
	if len(a) == 0 || len(b) > cap(a)-len(a) {
		return false
	}
	return &a[:len(a)+1][len(a)] == &b[0]
}

// flush writes everything queued: before the buffers the queued bytes
// lie in are given back, and at the end.
func (rw *runWriter) flush() error {
	if err := rw.flushData(); err != nil {
		return err
	}
	return rw.flushZeros()
}

func (rw *runWriter) flushData() error {
	if len(rw.pending) == 0 {
		return nil
	}
	m, err := rw.w.Write(rw.pending)
	rw.n += int64(m)
	if err == nil && m != len(rw.pending) {
		err = io.ErrShortWrite
	}
	rw.pending = nil
	return err
}

func (rw *runWriter) flushZeros() error {
	for rw.zero > 0 {
		k := min(rw.zero, int64(len(zeros)))
		m, err := rw.w.Write(zeros[:k])
		rw.n += int64(m)
		rw.zero -= k
		if err != nil {
			rw.zero = 0
			return err
		}
	}
	return nil
}
