package repo

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/semaphore"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// ErrMissingChunk is returned when a referenced chunk is not indexed.
var ErrMissingChunk = errors.New("chunk missing from the index")

// LoadChunk reads, decompresses and checks one chunk, appending it to dst.
func (r *Repository) LoadChunk(ctx context.Context, dst []byte, id chunk.ID) ([]byte, error) {
	loc, ok, err := r.idx.Lookup(id)
	if err != nil {
		return dst, err
	}
	if !ok {
		return dst, fmt.Errorf("chunk %s: %w", id.Short(), ErrMissingChunk)
	}
	stored := make([]byte, loc.Entry.Length)
	h := backend.Handle{Type: backend.TypePack, Name: loc.Pack.String()}
	if _, err := r.be.ReadAt(ctx, h, stored, int64(loc.Entry.Offset)); err != nil {
		return dst, fmt.Errorf("chunk %s: %w", id.Short(), err)
	}
	return r.codec.Decode(dst, stored, pack.Entry(loc.Entry))
}

// WriteSegments writes the segments produced by gen to w in order, and
// returns the bytes written. gen runs in a goroutine of its own, ahead of
// the output: its segments are cut into windows (up to windowData bytes
// of distinct chunks), and the chunks of each window are fetched with
// ranged reads planned over the window (planReads: neighbours in a pack,
// in any order, come with one request). Up to restoreParallel reads are
// in flight, each decoding and checking (BLAKE3) its chunks as soon as its
// bytes are in, so chunks are decoded in parallel ahead of the output. At
// most restoreBudget bytes of read and decoded buffers are held at once,
// whatever the pace of w; the buffers are reused.
func (r *Repository) WriteSegments(ctx context.Context, w io.Writer, gen func(diskmap.Emit) error) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &fetcher{r: r, budget: semaphore.NewWeighted(restoreBudget), slots: make(chan struct{}, r.restoreParallel)}
	queue := make(chan *window, 8)
	var genErr error
	go func() {
		defer close(queue)
		p := newPlanner(r.idx)
		send := func() error {
			win := p.take()
			err := f.dispatch(ctx, win)
			queue <- win // the writer releases it, even after an error
			return err
		}
		genErr = gen(func(s diskmap.Segment) error {
			full, err := p.add(s)
			if err != nil || !full {
				return err
			}
			return send()
		})
		if genErr == nil && !p.empty() {
			genErr = send()
		}
	}()
	rw := &runWriter{w: w}
	var err error
	for win := range queue {
		if err == nil {
			if err = writeWindow(ctx, rw, win); err != nil {
				cancel()
			}
		}
		f.release(win)
	}
	if err == nil {
		err = rw.flush()
	}
	if err == nil {
		err = genErr
	}
	return rw.n, err
}

// fetcher runs the reads of one WriteSegments.
type fetcher struct {
	r      *Repository
	budget *semaphore.Weighted // buffer bytes, restoreBudget in all
	slots  chan struct{}       // reads in flight
}

// dispatch takes the window's share of the budget and starts its reads.
// Whatever happens, every read of the window is done eventually (with an
// error if it never started).
func (f *fetcher) dispatch(ctx context.Context, win *window) error {
	if len(win.reads) == 0 {
		return nil
	}
	held := min(win.cost, restoreBudget)
	if err := f.budget.Acquire(ctx, held); err != nil {
		abandon(win.reads, err)
		return err
	}
	win.held = held
	for i, rd := range win.reads {
		select {
		case f.slots <- struct{}{}:
		case <-ctx.Done():
			abandon(win.reads[i:], ctx.Err())
			return ctx.Err()
		}
		go func() {
			err := f.r.fetch(ctx, rd)
			<-f.slots
			rd.finish(err)
		}()
	}
	return nil
}

// abandon ends reads that will not start.
func abandon(reads []*read, err error) {
	for _, rd := range reads {
		rd.finish(err)
	}
}

// release waits for the window's reads, gives their buffers back and
// returns the window's share of the budget.
func (f *fetcher) release(win *window) {
	for _, rd := range win.reads {
		rd.release()
	}
	f.budget.Release(win.held)
	win.held = 0
}

// writeWindow writes the segments of win, each once its chunk is read and
// checked. What it queued in rw is written before it returns, since the
// window's buffers are given back afterwards.
func writeWindow(ctx context.Context, rw *runWriter, win *window) error {
	for i, s := range win.segs {
		var data []byte
		if wt := win.wants[i]; wt != nil {
			select {
			case <-wt.rd.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := wt.rd.err; err != nil {
				return err
			}
			data = wt.data
		}
		if err := rw.segment(s, data); err != nil {
			return err
		}
	}
	return rw.flushData()
}
