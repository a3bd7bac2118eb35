package vhd

import (
	"context"
	"fmt"
	"io"
)

// Options controls NewStream.
type Options struct {
	Format     Format // 0 = auto-detect; otherwise forced (a mismatch is an error)
	SpillDir   string // where to spill when the layout needs random access ("" = os.TempDir())
	SpillLimit int64  // max bytes spilled; over it ErrSpillLimit. 0 = 1 GiB
	// MetadataLimit bounds the memory the parser keeps per block (a VHDX
	// keeps at most 8 bytes per BAT entry); a container that needs more is
	// refused with ErrMetadataLimit. 0 = DefaultMetadataLimit.
	MetadataLimit int64
	// Context, if set, bounds the work: parsing (log replay, BAT checks)
	// and Next stop soon after it is done, with its cause.
	Context context.Context
}

// Stream parses a container stream into Pieces. See the package
// documentation for the guarantees of the piece sequence.
type Stream struct {
	src  *source
	info Info

	queue []qpiece
	gen   func() error // appends pieces to queue; io.EOF when there are no more
	cur   int64        // file offset up to which Meta/Payload pieces are queued

	piece Piece
	src0  int64 // qpiece.src of piece
	done  int64 // bytes of piece already read
	valid bool  // piece is set

	ov        *overlay // replayed VHDX log, or nil
	err       error
	ctx       context.Context
	metaLimit int64
}

// qpiece is a queued piece; src is the file offset whose replayed bytes a
// Virtual piece returns.
type qpiece struct {
	Piece
	src int64
}

// NewStream reads the head of r and prepares to emit pieces.
func NewStream(r io.Reader, opts Options) (*Stream, error) {
	s := &Stream{src: newSource(r, opts), ctx: opts.Context, metaLimit: opts.MetadataLimit}
	if s.metaLimit <= 0 {
		s.metaLimit = DefaultMetadataLimit
	}
	if err := s.ctxErr(); err != nil {
		return nil, err
	}
	if err := s.src.fill(512); err != nil {
		return nil, err
	}
	head := make([]byte, s.src.pos)
	s.src.windowAt(head, 0)
	detected := Detect(head)
	if opts.Format != 0 && opts.Format != FormatRaw && opts.Format != FormatVHD && opts.Format != FormatVHDX {
		return nil, fmt.Errorf("%w: unknown format %d", ErrUnsupported, int(opts.Format))
	}
	var err error
	switch {
	case opts.Format == FormatRaw:
		err = s.openRaw(false, false)
	case opts.Format == FormatVHD && detected == FormatVHDX:
		return nil, fmt.Errorf("%w: forced vhd, found a vhdx file identifier", ErrFormatMismatch)
	case opts.Format == FormatVHDX || (opts.Format == 0 && detected == FormatVHDX):
		if detected != FormatVHDX {
			return nil, fmt.Errorf("%w: no vhdx file identifier", ErrFormatMismatch)
		}
		err = s.openVHDX()
	case detected == FormatVHD:
		err = s.openVHD(head)
	case opts.Format == FormatVHD:
		err = s.openRaw(true, true) // must turn out to be a fixed VHD
	default:
		err = s.openRaw(true, false)
	}
	if err != nil {
		s.src.close()
		return nil, err
	}
	return s, nil
}

// Info describes the disk. Fields known from headers are valid once
// NewStream returned; everything is final after Next returned io.EOF.
func (s *Stream) Info() Info { return s.info }

// Next returns the next piece, or io.EOF after the last one. Bytes of the
// previous piece that were not read are skipped.
func (s *Stream) Next() (Piece, error) {
	if s.err != nil {
		return Piece{}, s.err
	}
	if s.valid && (s.piece.Kind == Meta || s.piece.Kind == Payload) {
		s.src.release(s.piece.FileOff + s.piece.Len)
	}
	for len(s.queue) == 0 {
		err := s.ctxErr()
		if err == nil {
			err = s.gen()
		}
		if err != nil {
			if err == io.EOF {
				s.info.FileSize = s.cur
				s.src.close()
			}
			s.valid = false
			s.err = err
			return Piece{}, err
		}
	}
	p := s.queue[0]
	s.queue = s.queue[1:]
	if len(s.queue) == 0 {
		s.queue = s.queue[:0:0]
	}
	if p.Kind == Meta || p.Kind == Payload {
		s.src.release(p.FileOff)
	}
	s.piece, s.src0, s.done, s.valid = p.Piece, p.src, 0, true
	return p.Piece, nil
}

// Read reads the bytes of the current Meta, Payload or Virtual piece. It
// returns io.EOF at the end of the piece (at once for a Zero piece).
func (s *Stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if !s.valid || s.piece.Kind == Zero || s.done >= s.piece.Len {
		return 0, io.EOF
	}
	if rem := s.piece.Len - s.done; int64(len(p)) > rem {
		p = p[:rem]
	}
	if s.piece.Kind == Virtual {
		clear(p)
		s.ov.apply(p, s.src0+s.done)
		s.done += int64(len(p))
		return len(p), nil
	}
	n, err := s.src.readStream(p, s.piece.FileOff+s.done)
	s.done += int64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}

// Close releases the spill file, if any. It is optional after Next
// returned io.EOF or an error.
func (s *Stream) Close() error {
	s.src.close()
	if s.err == nil {
		s.err = fmt.Errorf("vhd: stream closed")
	}
	return nil
}

// ctxErr returns the cause of the end of the stream's context, if any.
func (s *Stream) ctxErr() error {
	if s.ctx == nil || s.ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("vhd: parsing stopped: %w", context.Cause(s.ctx))
}

// file queues a Meta or Payload piece of the file at s.cur.
func (s *Stream) file(k Kind, n, voff int64) {
	if n <= 0 {
		return
	}
	if k == Meta {
		voff = 0
	}
	if l := len(s.queue); l > 0 && k == Meta && s.queue[l-1].Kind == Meta && s.queue[l-1].FileOff+s.queue[l-1].Len == s.cur {
		s.queue[l-1].Len += n
	} else {
		s.queue = append(s.queue, qpiece{Piece: Piece{Kind: k, FileOff: s.cur, VOff: voff, Len: n}})
	}
	s.cur += n
}

// metaTo queues Meta up to file offset end.
func (s *Stream) metaTo(end int64) { s.file(Meta, end-s.cur, 0) }

// zero queues a Zero piece, merging it with a preceding adjacent one.
func (s *Stream) zero(voff, n int64) {
	if n <= 0 {
		return
	}
	if l := len(s.queue); l > 0 && s.queue[l-1].Kind == Zero && s.queue[l-1].VOff+s.queue[l-1].Len == voff {
		s.queue[l-1].Len += n
		return
	}
	s.queue = append(s.queue, qpiece{Piece: Piece{Kind: Zero, FileOff: -1, VOff: voff, Len: n}})
}

// trailing queues the bytes after the last structure, up to the end of the
// stream, as Meta in bounded steps. tail > 0 bytes at the very end must
// exist and are passed to check. It returns io.EOF when done.
func (s *Stream) trailing(tail int64, check func(last []byte) error) error {
	const step = 1 << 20
	if err := s.src.fill(s.cur + step + tail); err != nil {
		return err
	}
	if s.src.pos >= s.cur+step+tail {
		s.metaTo(s.cur + step)
		return nil
	}
	total := s.src.pos
	if total-s.cur < tail {
		return fmt.Errorf("%w: stream ends at %d, %d bytes short of its footer", ErrTruncated, total, tail-(total-s.cur))
	}
	if tail > 0 {
		last := make([]byte, tail)
		if err := s.src.readAt(last, total-tail); err != nil {
			return err
		}
		if err := check(last); err != nil {
			return err
		}
	}
	s.metaTo(total)
	if len(s.queue) == 0 {
		return io.EOF
	}
	s.gen = func() error { return io.EOF }
	return nil
}
