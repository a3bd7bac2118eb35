package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/shadowvault/shadowvault/chunk"
)

// stitcher is the state of the stitch of one run.
type stitcher struct {
	pc      *parallelChunker
	sp      *chunk.Splitter
	pending []*segment // the segments holding the bytes from pos on
	pos     int64      // where the next chunk of the run starts
	// synced, when set, is the segment whose speculative cuts hold from
	// pos on.
	synced *segment
}

var (
	errUnfinishedRun = errors.New("ingest: a run ended without its last segment")
	// errInputEnded: the walker stopped inside a run (it failed, and
	// returns why); not a failure of the stitcher.
	errInputEnded = fmt.Errorf("%w: the input ended", errUnfinishedRun)
)

// stitch takes the segments in order and emits the chunks of their runs.
func (pc *parallelChunker) stitch() error {
	st := &stitcher{pc: pc, sp: chunk.NewSplitter(pc.params)}
	for s := range pc.order {
		select {
		case <-s.done:
		case <-pc.ctx.Done():
			return context.Cause(pc.ctx)
		}
		if s.first {
			if len(st.pending) > 0 {
				return errUnfinishedRun
			}
			st.pos, st.synced = s.off, s
		}
		st.pending = append(st.pending, s)
		if err := st.advance(); err != nil {
			return err
		}
	}
	if len(st.pending) > 0 {
		return errInputEnded
	}
	return nil
}

// advance emits every chunk that is known from pos on, and releases the
// segments it is done with.
func (st *stitcher) advance() error {
	last := st.pending[len(st.pending)-1]
	for st.pos < last.end() {
		if s := st.synced; s != nil {
			st.synced = nil
			if err := st.emitSpeculative(s); err != nil {
				return err
			}
			continue
		}
		// Chunking for real pays only once bytes past the segment that
		// holds pos have come.
		if st.pos >= last.off && !last.last {
			break
		}
		if err := st.chunkUntilInStep(last); err != nil {
			return err
		}
		if st.synced == nil {
			break // more bytes needed
		}
	}
	st.release()
	return nil
}

// emitSpeculative emits the speculative chunks of s after pos.
func (st *stitcher) emitSpeculative(s *segment) error {
	for _, c := range s.cuts {
		end := s.off + int64(c)
		if end <= st.pos {
			continue
		}
		// The chunk starts at pos: pos is a cut of s, or its start.
		bufp := st.pc.pool.Get().(*[]byte)
		*bufp = append((*bufp)[:0], s.data[st.pos-s.off:c]...)
		if err := st.pc.emitBuffer(st.pos, bufp, *bufp); err != nil {
			return err
		}
		st.pos = end
	}
	return nil
}

// chunkUntilInStep chunks from pos over the pending bytes until a cut
// falls where a segment's speculation has one (then synced is set), or the
// bytes run out before the run does.
func (st *stitcher) chunkUntilInStep(last *segment) error {
	readers := make([]io.Reader, 0, len(st.pending))
	for _, s := range st.pending {
		if s.end() > st.pos {
			readers = append(readers, bytes.NewReader(s.data[max(0, st.pos-s.off):]))
		}
	}
	st.sp.Reset(io.MultiReader(readers...))
	for {
		bufp := st.pc.pool.Get().(*[]byte)
		data, err := st.sp.Next((*bufp)[:0])
		if err != nil { // io.EOF: reading from memory cannot fail
			st.pc.pool.Put(bufp)
			return nil
		}
		end := st.pos + int64(len(data))
		if end == last.end() && !last.last {
			st.pc.pool.Put(bufp) // the bytes ran out: no cut
			return nil
		}
		if err := st.pc.emitBuffer(st.pos, bufp, data); err != nil {
			return err
		}
		st.pos = end
		if s := st.inStepAt(end); s != nil {
			st.synced = s
			return nil
		}
	}
}

// inStepAt returns the pending segment whose speculation has a cut at
// (or starts at) the run offset v, if any.
func (st *stitcher) inStepAt(v int64) *segment {
	for _, s := range st.pending {
		if v < s.off || v >= s.end() {
			continue
		}
		if v == s.off {
			return s
		}
		if _, ok := slices.BinarySearch(s.cuts, int(v-s.off)); ok {
			return s
		}
		return nil
	}
	return nil
}

// release gives back the buffers of the segments wholly before pos, or
// of the whole run once it is done.
func (st *stitcher) release() {
	last := st.pending[len(st.pending)-1]
	done := last.last && st.pos == last.end()
	keep := st.pending[:0]
	for _, s := range st.pending {
		if done || s.end() <= st.pos {
			st.pc.release(s.data)
			continue
		}
		keep = append(keep, s)
	}
	clear(st.pending[len(keep):])
	st.pending = keep
}
