package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/vhd"
)

// zeroBlock is the granularity of zero detection: an aligned block of this
// size that is all zero becomes a zero extent.
const zeroBlock = 64 << 10

// metaChunk is the largest chunk of container bytes.
const metaChunk = 1 << 20

// walker drives the piece stream. It is the io.Reader the chunker pulls
// virtual content from: Read hands out data blocks of payload pieces for as
// long as they continue each other in the virtual disk, handles container
// and zero pieces inline, and returns io.EOF to end a chunker run (a forced
// cut) at a zero block or a discontinuity.
type walker struct {
	ctx   context.Context
	st    pieces
	split *chunk.Splitter
	pool  *sync.Pool
	jobs  chan<- job

	piece vhd.Piece // current payload or virtual piece
	left  int64     // its bytes not yet read
	vpos  int64     // virtual offset of its next byte
	block []byte    // data block being handed out
	bpos  int
	done  bool

	runStart int64 // virtual offset of the first byte of this run
	runBytes int64 // bytes handed out in this run
	runEnded bool  // Read returned io.EOF for this run (sticky: the
	// chunker reads with io.ReadFull and would read on past a single EOF)

	extents []*diskmap.Extent
	recipe  []*diskmap.Piece
	chunks  int

	hints     *diskmap.Hints // free ranges; nil: none
	cuts      cutter         // forced cuts (the hints' boundaries); nil: none
	freeBytes int64          // bytes of hinted free ranges stored as zeros

	// stop, if set, is asked at the start of every new extent whether the
	// walk should end there (an incremental upload back in step with its
	// base). stopped says it did, at stopOff; extents the read-ahead
	// recorded from stopOff on are not part of the walk.
	stop    func(off int64) bool
	stopped bool
	stopOff int64
}

// cutter says where the chunker must cut: guest file boundaries, or the
// base's chunk boundaries for an incremental disk.
type cutter interface {
	IsCut(v int64) bool
	// NextCut returns the first cut after v, or -1.
	NextCut(v int64) int64
}

// pieces is the stream a walker reads: a parsed container (*vhd.Stream),
// or the virtual content of an incremental upload.
type pieces interface {
	Next() (vhd.Piece, error)
	io.Reader
}

func newWalker(ctx context.Context, st pieces, p chunk.Params, pool *sync.Pool, jobs chan<- job) *walker {
	return &walker{ctx: ctx, st: st, split: chunk.NewSplitter(p), pool: pool, jobs: jobs, block: make([]byte, 0, zeroBlock)}
}

// run chunks runs until the stream ends.
func (w *walker) run() error {
	for !w.done && !w.stopped {
		w.runBytes, w.runEnded = 0, false
		w.split.Reset(w)
		off := int64(-1)
		for {
			bufp := w.pool.Get().(*[]byte)
			data, err := w.split.Next((*bufp)[:0])
			if err == io.EOF {
				w.pool.Put(bufp)
				break
			}
			if err != nil {
				w.pool.Put(bufp)
				return err
			}
			if off < 0 {
				off = w.runStart
			}
			if w.halt(off) {
				w.pool.Put(bufp)
				return nil
			}
			e := &diskmap.Extent{Offset: off, Length: int64(len(data)), Kind: diskmap.ExtentData}
			off += e.Length
			w.extents = append(w.extents, e)
			if err := w.dispatch(bufp, data, &e.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *walker) dispatch(bufp *[]byte, data []byte, id *chunk.ID) error {
	w.chunks++
	select {
	case w.jobs <- job{bufp: bufp, data: data, id: id}:
		return nil
	case <-w.ctx.Done():
		w.pool.Put(bufp)
		return context.Cause(w.ctx)
	}
}

// halt reports whether the walk ends at off, an extent's start.
func (w *walker) halt(off int64) bool {
	if w.stop == nil || !w.stop(off) {
		return false
	}
	if !w.stopped || off < w.stopOff {
		w.stopped, w.stopOff = true, off
	}
	return true
}

// Read implements io.Reader for the chunker.
func (w *walker) Read(p []byte) (int, error) {
	if w.runEnded || w.stopped {
		return 0, io.EOF
	}
	n, err := w.read(p)
	if err == io.EOF {
		w.runEnded = true
	}
	return n, err
}

func (w *walker) read(p []byte) (int, error) {
	for {
		if w.bpos < len(w.block) {
			n := copy(p, w.block[w.bpos:])
			w.bpos += n
			w.runBytes += int64(n)
			return n, nil
		}
		if w.left == 0 {
			if w.done {
				return 0, io.EOF
			}
			cut, err := w.nextPiece()
			if err != nil {
				return 0, err
			}
			if cut {
				return 0, io.EOF
			}
			continue
		}
		n := min(zeroBlock-w.vpos%zeroBlock, w.left)
		free := false
		if c := w.cuts; c != nil {
			if w.runBytes > 0 && c.IsCut(w.vpos) {
				return 0, io.EOF // a file boundary: forced cut
			}
			if next := c.NextCut(w.vpos); next > 0 {
				n = min(n, next-w.vpos)
			}
		}
		if h := w.hints; h != nil {
			var edge int64
			free, edge = h.FreeAt(w.vpos)
			if edge > 0 {
				n = min(n, edge-w.vpos)
			}
		}
		// Read straight into the chunker's buffer when the block fits: one
		// copy less on the busiest goroutine.
		direct := int64(len(p)) >= n
		buf := w.block[:cap(w.block)][:n]
		if direct {
			buf = p[:n]
		}
		if _, err := io.ReadFull(w.st, buf); err != nil {
			return 0, pieceErr(err)
		}
		voff := w.vpos
		w.vpos += n
		w.left -= n
		if free && !chunk.IsZero(buf) {
			w.freeBytes += n
			clear(buf)
		}
		if chunk.IsZero(buf) {
			w.block, w.bpos = w.block[:0], 0
			w.addZero(voff, n)
			if w.runBytes > 0 || w.stopped {
				return 0, io.EOF
			}
			continue
		}
		if w.runBytes == 0 {
			w.runStart = voff
		}
		if direct {
			w.block, w.bpos = w.block[:0], 0
			w.runBytes += n
			return int(n), nil
		}
		w.block, w.bpos = buf, 0
	}
}

// nextPiece moves to the next payload or virtual piece, handling container
// and zero pieces on the way. cut says the chunker run must end first.
func (w *walker) nextPiece() (cut bool, err error) {
	for {
		p, err := w.st.Next()
		if err == io.EOF {
			w.done = true
			return true, nil
		}
		if err != nil {
			return false, err
		}
		switch p.Kind {
		case vhd.Meta:
			if err := w.meta(p.Len); err != nil {
				return false, err
			}
			continue
		case vhd.Zero:
			w.addZero(p.VOff, p.Len)
			continue
		case vhd.Payload:
			w.addVirtualPiece(p)
		case vhd.Virtual:
		default:
			return false, fmt.Errorf("unknown piece kind %v", p.Kind)
		}
		if p.Len == 0 {
			continue
		}
		contiguous := w.runBytes == 0 || p.VOff == w.vpos
		w.piece, w.left, w.vpos = p, p.Len, p.VOff
		return !contiguous, nil
	}
}

func (w *walker) addZero(voff, n int64) {
	if w.stopped || w.halt(voff) {
		return
	}
	if k := len(w.extents); k > 0 {
		if last := w.extents[k-1]; last.Kind == diskmap.ExtentZero && last.Offset+last.Length == voff {
			last.Length += n
			return
		}
	}
	w.extents = append(w.extents, &diskmap.Extent{Offset: voff, Length: n, Kind: diskmap.ExtentZero})
}

func (w *walker) addVirtualPiece(p vhd.Piece) {
	if k := len(w.recipe); k > 0 {
		if last := w.recipe[k-1]; last.Kind == diskmap.PieceVirtual && last.VOffset+last.Length == p.VOff {
			last.Length += p.Len
			return
		}
	}
	w.recipe = append(w.recipe, &diskmap.Piece{Kind: diskmap.PieceVirtual, Length: p.Len, VOffset: p.VOff})
}

// meta stores n container bytes as recipe pieces: zero blocks as zero
// pieces, the rest in fixed-size chunks.
func (w *walker) meta(n int64) error {
	var bufp *[]byte
	flush := func() error {
		if bufp == nil {
			return nil
		}
		data := *bufp
		p := &diskmap.Piece{Kind: diskmap.PieceData, Length: int64(len(data))}
		w.recipe = append(w.recipe, p)
		b := bufp
		bufp = nil
		return w.dispatch(b, data, &p.ID)
	}
	var pos int64
	for pos < n {
		k := min(zeroBlock, n-pos)
		if bufp == nil {
			bufp = w.pool.Get().(*[]byte)
			*bufp = (*bufp)[:0]
		}
		start := len(*bufp)
		*bufp = append(*bufp, w.block[:cap(w.block)][:k]...) // grow
		blk := (*bufp)[start:]
		if _, err := io.ReadFull(w.st, blk); err != nil {
			w.pool.Put(bufp)
			return pieceErr(err)
		}
		pos += k
		if chunk.IsZero(blk) {
			*bufp = (*bufp)[:start]
			if start == 0 {
				w.pool.Put(bufp)
				bufp = nil
			} else if err := flush(); err != nil {
				return err
			}
			w.addZeroPiece(k)
			continue
		}
		if len(*bufp) >= metaChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (w *walker) addZeroPiece(n int64) {
	if k := len(w.recipe); k > 0 && w.recipe[k-1].Kind == diskmap.PieceZero {
		w.recipe[k-1].Length += n
		return
	}
	w.recipe = append(w.recipe, &diskmap.Piece{Kind: diskmap.PieceZero, Length: n})
}

func pieceErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ended inside a piece", vhd.ErrTruncated)
	}
	return err
}
