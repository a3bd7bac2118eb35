package ingest

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
)

// One stream, every core: the walker cuts each run of contiguous content
// into segments of SegmentSize bytes, a pool of workers chunks every
// segment on its own as if a run started there ("speculative" cuts), and a
// stitcher, in order, turns them into the chunks a single chunker would
// have cut over the whole run.
//
// That works because the chunker keeps no state across a cut: where a
// chunk ends depends only on where it started (its rolling hash restarts,
// and MinSize, the mask and MaxSize count from the start). So once the
// chunking from the run's start ends a chunk where a segment's speculative
// chunking does, or at a segment's first byte, every speculative cut of
// that segment from there on is a cut of the whole run. The stitcher
// chunks for real only from the last true cut of a segment into the next
// until the two agree, usually within a chunk or two; a disk map is the
// same whatever the number of workers or the timing, and the same as
// before segments existed.

// DefaultSegmentSize is the length of the segments a run is chunked in:
// the stitcher chunks again about a chunk or two of each (some 10% of 2 MiB
// at the default 128 KiB average), and a stream holds at most
// GOMAXPROCS+4 segments, each with the copies of its chunks.
const DefaultSegmentSize = 2 << 20

// segment is a part of a run, with its speculative cuts once a worker has
// chunked it.
type segment struct {
	off   int64  // virtual offset of data[0]
	data  []byte // a buffer of the segment pool
	first bool   // the run starts here
	last  bool   // the run ends with this segment
	cuts  []int  // ends of its speculative chunks, relative to data
	done  chan struct{}
}

func (s *segment) end() int64 { return s.off + int64(len(s.data)) }

// parallelChunker runs the speculative workers and the stitcher of one
// ingest.
type parallelChunker struct {
	ctx    context.Context
	params chunk.Params
	size   int
	pool   *sync.Pool    // chunk buffers, as the walker's
	jobs   chan<- job    // to the savers
	bufs   chan struct{} // the segment buffers the stream may hold

	work  chan *segment
	order chan *segment
	wg    sync.WaitGroup
	errc  chan error

	extents []*diskmap.Extent // data extents, written by the stitcher only
	chunks  int
}

func newParallelChunker(ctx context.Context, cancel context.CancelCauseFunc, p chunk.Params, size, workers int, pool *sync.Pool, jobs chan<- job) *parallelChunker {
	pc := &parallelChunker{
		ctx: ctx, params: p, size: size, pool: pool, jobs: jobs,
		// Buffers: two the walker holds (the segment it keeps until it
		// knows whether it is the run's last, and the next), one per
		// worker, and up to two more the stitcher holds (the segment it
		// chunks from, and the next it waits for is a worker's).
		bufs:  make(chan struct{}, workers+4),
		work:  make(chan *segment, workers),
		order: make(chan *segment, workers+4),
		errc:  make(chan error, 1),
	}
	for range cap(pc.bufs) {
		pc.bufs <- struct{}{}
	}
	for range workers {
		pc.wg.Add(1)
		go pc.speculate()
	}
	go func() {
		err := pc.stitch()
		if err != nil && !errors.Is(err, errInputEnded) {
			cancel(err) // the walker stops feeding segments
		}
		pc.errc <- err
	}()
	return pc
}

// segmentPool holds the buffers of default-size segments of every stream:
// a stream keeps only the ones it uses (a stalled upload holds one or two),
// not its whole share.
var segmentPool = sync.Pool{New: func() any { b := make([]byte, DefaultSegmentSize); return &b }}

// buffer returns an empty segment buffer, waiting while the stream holds
// its share of them.
func (pc *parallelChunker) buffer() ([]byte, error) {
	select {
	case <-pc.bufs:
	case <-pc.ctx.Done():
		return nil, context.Cause(pc.ctx)
	}
	if pc.size == DefaultSegmentSize {
		return (*segmentPool.Get().(*[]byte))[:pc.size], nil
	}
	return make([]byte, pc.size), nil
}

func (pc *parallelChunker) release(b []byte) {
	if cap(b) == DefaultSegmentSize {
		b = b[:cap(b)]
		segmentPool.Put(&b)
	}
	pc.bufs <- struct{}{}
}

// send hands a segment to the workers and the stitcher.
func (pc *parallelChunker) send(s *segment) error {
	s.done = make(chan struct{})
	for _, ch := range []chan *segment{pc.order, pc.work} {
		select {
		case ch <- s:
		case <-pc.ctx.Done():
			return context.Cause(pc.ctx)
		}
	}
	return nil
}

// close ends the input and waits for the stitcher's result.
func (pc *parallelChunker) close() error {
	close(pc.work)
	close(pc.order)
	pc.wg.Wait()
	return <-pc.errc
}

// speculate finds the cuts of segments chunked from their first byte. It
// keeps only the cuts: the chunk bytes are in the segment, and the
// stitcher copies out the chunks that hold when it sends them, so a
// stream holds copies of the chunks on their way to the savers only, not
// of every segment in flight.
func (pc *parallelChunker) speculate() {
	defer pc.wg.Done()
	sp := chunk.NewSplitter(pc.params)
	var r bytes.Reader
	var scratch []byte // the chunker copies each chunk here
	for s := range pc.work {
		r.Reset(s.data)
		sp.Reset(&r)
		end := 0
		for {
			data, err := sp.Next(scratch[:0])
			if err != nil { // io.EOF: reading from memory cannot fail
				break
			}
			scratch = data
			end += len(data)
			s.cuts = append(s.cuts, end)
		}
		if n := len(s.cuts); !s.last && n > 0 && s.cuts[n-1] == len(s.data) {
			// The segment's end is no cut of the run.
			s.cuts = s.cuts[:n-1]
		}
		close(s.done)
	}
}

// emitBuffer sends the chunk data at off, held in the chunk buffer bufp,
// to the savers, which give the buffer back.
func (pc *parallelChunker) emitBuffer(off int64, bufp *[]byte, data []byte) error {
	e := &diskmap.Extent{Offset: off, Length: int64(len(data)), Kind: diskmap.ExtentData}
	pc.extents = append(pc.extents, e)
	pc.chunks++
	select {
	case pc.jobs <- job{bufp: bufp, data: data, id: &e.ID}:
		return nil
	case <-pc.ctx.Done():
		pc.pool.Put(bufp)
		return context.Cause(pc.ctx)
	}
}
