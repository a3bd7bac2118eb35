package vhd

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// source reads the container stream strictly forward and keeps a window of
// the bytes [base, pos) that were read ahead of the emitting position, so
// that headers and look-ahead metadata can be parsed and still be emitted
// later. The window lives in memory up to memCap bytes and then moves to an
// unlinked temporary file, whose total size is bounded by spillLimit.
type source struct {
	r   io.Reader
	pos int64 // bytes consumed from r
	eof bool  // r returned io.EOF

	base int64    // file offset of the first windowed byte
	mem  []byte   // window bytes while in memory
	f    *os.File // window bytes once spilled
	flen int64    // bytes in f

	memCap     int64
	spillDir   string
	spillLimit int64
	spilled    int64 // total bytes ever written to spill files
}

const defaultMemCap = 8 << 20

func newSource(r io.Reader, opts Options) *source {
	lim := opts.SpillLimit
	if lim <= 0 {
		lim = 1 << 30
	}
	return &source{r: r, memCap: defaultMemCap, spillDir: opts.SpillDir, spillLimit: lim}
}

// fill reads from r into the window until pos >= end or the stream ends.
// It is not an error to reach the end; callers compare pos with end.
func (s *source) fill(end int64) error {
	var buf [64 << 10]byte
	for s.pos < end && !s.eof {
		n := int64(len(buf))
		if end-s.pos < n {
			n = end - s.pos
		}
		m, err := io.ReadFull(s.r, buf[:n])
		if m > 0 {
			if werr := s.appendWindow(buf[:m]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			s.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *source) appendWindow(p []byte) error {
	if s.f == nil && int64(len(s.mem))+int64(len(p)) <= s.memCap {
		s.mem = append(s.mem, p...)
		s.pos += int64(len(p))
		return nil
	}
	if s.f == nil {
		if s.spilled+int64(len(s.mem)) > s.spillLimit {
			return fmt.Errorf("%w: more than %d bytes of read-ahead", ErrSpillLimit, s.spillLimit)
		}
		f, err := os.CreateTemp(s.spillDir, "shadowvault-vhd-spill-*")
		if err != nil {
			return fmt.Errorf("vhd: spill: %w", err)
		}
		os.Remove(f.Name()) // unlinked: nothing is left behind
		s.f = f
		if _, err := f.Write(s.mem); err != nil {
			return fmt.Errorf("vhd: spill: %w", err)
		}
		s.flen = int64(len(s.mem))
		s.spilled += s.flen
		s.mem = nil
	}
	if s.spilled+int64(len(p)) > s.spillLimit {
		return fmt.Errorf("%w: more than %d bytes of read-ahead", ErrSpillLimit, s.spillLimit)
	}
	if _, err := s.f.WriteAt(p, s.flen); err != nil {
		return fmt.Errorf("vhd: spill: %w", err)
	}
	s.flen += int64(len(p))
	s.spilled += int64(len(p))
	s.pos += int64(len(p))
	return nil
}

// readAt reads len(p) bytes at off for parsing, reading ahead as needed.
// off must not lie before the window. A short stream gives ErrTruncated.
func (s *source) readAt(p []byte, off int64) error {
	if off < s.base {
		return fmt.Errorf("vhd: internal: read at %d before window %d", off, s.base)
	}
	end := off + int64(len(p))
	if err := s.fill(end); err != nil {
		return err
	}
	if s.pos < end {
		return fmt.Errorf("%w: need %d bytes, stream ends at %d", ErrTruncated, end, s.pos)
	}
	return s.windowAt(p, off)
}

func (s *source) windowAt(p []byte, off int64) error {
	if s.f == nil {
		copy(p, s.mem[off-s.base:])
		return nil
	}
	_, err := s.f.ReadAt(p, off-s.base)
	if err != nil {
		return fmt.Errorf("vhd: spill read: %w", err)
	}
	return nil
}

// readStream reads emitted bytes at off into p: from the window if they
// were read ahead, else straight from r (skipping up to off). It returns
// ErrTruncated if the stream ends before off+len(p).
func (s *source) readStream(p []byte, off int64) (int, error) {
	if off < s.pos {
		if off < s.base {
			return 0, fmt.Errorf("vhd: internal: stream read at %d before window %d", off, s.base)
		}
		n := int64(len(p))
		if s.pos-off < n {
			n = s.pos - off
		}
		return int(n), s.windowAt(p[:n], off)
	}
	s.drop()
	if off > s.pos {
		if err := s.skip(off - s.pos); err != nil {
			return 0, err
		}
		s.base = s.pos
	}
	n, err := io.ReadFull(s.r, p)
	s.pos += int64(n)
	s.base = s.pos
	if err != nil {
		return n, s.eofErr(err, off+int64(len(p)))
	}
	return n, nil
}

func (s *source) eofErr(err error, need int64) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		s.eof = true
		return fmt.Errorf("%w: need %d bytes, stream ends at %d", ErrTruncated, need, s.pos)
	}
	return err
}

// release says that no byte before upTo will be read again. An in-memory
// window is compacted now and then; a spilled one is kept until drop.
func (s *source) release(upTo int64) {
	if upTo >= s.pos {
		s.drop()
		return
	}
	if s.f != nil || upTo <= s.base {
		return
	}
	n := upTo - s.base
	if n >= 1<<20 && 2*n >= int64(len(s.mem)) {
		if rest := s.mem[n:]; cap(s.mem) > defaultMemCap && len(rest) <= defaultMemCap/2 {
			// A large head was emitted: give its memory back.
			s.mem = append(make([]byte, 0, max(len(rest), 64<<10)), rest...)
		} else {
			m := copy(s.mem, rest)
			s.mem = s.mem[:m]
		}
		s.base = upTo
	}
}

// drop forgets the window once everything in it was emitted.
func (s *source) drop() {
	s.mem = s.mem[:0]
	if cap(s.mem) > defaultMemCap {
		s.mem = nil
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
		s.flen = 0
	}
	s.base = s.pos
}

func (s *source) close() {
	s.mem = nil
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// skip moves n bytes forward: by seeking when the stream is a file (so a
// caller that maps a container without reading its payload reads only
// metadata), else by reading and discarding.
func (s *source) skip(n int64) error {
	if sk, ok := s.r.(io.Seeker); ok {
		if _, err := sk.Seek(n, io.SeekCurrent); err == nil {
			s.pos += n
			return nil
		}
	}
	m, err := io.CopyN(io.Discard, s.r, n)
	s.pos += m
	if err != nil {
		return s.eofErr(err, s.pos+n-m)
	}
	return nil
}
