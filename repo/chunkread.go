package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/index"
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
	return pack.Decode(dst, stored, pack.Entry(loc.Entry))
}

var zeros = make([]byte, 1<<20)

type fetch struct {
	segs  []diskmap.Segment
	locs  []index.Location
	done  chan struct{}
	datas [][]byte
	err   error
}

// maxBatch bounds one coalesced read of adjacent chunks.
const maxBatch = 4 << 20

// load reads a run of adjacent chunks of one pack with one request, then
// decodes and checks each.
func (r *Repository) load(ctx context.Context, f *fetch) {
	if len(f.locs) == 0 {
		return
	}
	first, last := f.locs[0].Entry, f.locs[len(f.locs)-1].Entry
	start, end := first.Offset, last.Offset+uint64(last.Length)
	buf := make([]byte, end-start)
	h := backend.Handle{Type: backend.TypePack, Name: f.locs[0].Pack.String()}
	if _, err := r.be.ReadAt(ctx, h, buf, int64(start)); err != nil {
		f.err = err
		return
	}
	f.datas = make([][]byte, len(f.locs))
	for i, l := range f.locs {
		d, err := pack.Decode(nil, buf[l.Entry.Offset-start:l.Entry.Offset-start+uint64(l.Entry.Length)], pack.Entry(l.Entry))
		if err != nil {
			f.err = err
			return
		}
		f.datas[i] = d
	}
}

// WriteSegments writes the segments produced by gen to w in order. Chunks stored
// next to each other in a pack are fetched with one ranged read (up to
// maxBatch), and restoreParallel reads are in flight at once.
func (r *Repository) WriteSegments(ctx context.Context, w io.Writer, gen func(diskmap.Emit) error) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan *fetch, r.restoreParallel)
	slots := make(chan struct{}, r.restoreParallel)
	var genErr error
	var wg sync.WaitGroup
	dispatch := func(f *fetch) error {
		if len(f.locs) == 0 {
			close(f.done)
		} else {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				r.load(ctx, f)
				close(f.done)
			}()
		}
		select {
		case queue <- f:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		defer close(queue)
		var cur *fetch
		var end uint64
		flush := func() error {
			if cur == nil {
				return nil
			}
			f := cur
			cur = nil
			return dispatch(f)
		}
		genErr = gen(func(s diskmap.Segment) error {
			if s.ID.IsZero() {
				if err := flush(); err != nil {
					return err
				}
				return dispatch(&fetch{segs: []diskmap.Segment{s}, done: make(chan struct{})})
			}
			loc, ok, err := r.idx.Lookup(s.ID)
			if err == nil && !ok {
				err = fmt.Errorf("chunk %s: %w", s.ID.Short(), ErrMissingChunk)
			}
			if err != nil {
				return err
			}
			if cur != nil && loc.Pack == cur.locs[0].Pack && loc.Entry.Offset == end &&
				end+uint64(loc.Entry.Length)-cur.locs[0].Entry.Offset <= maxBatch {
				cur.segs, cur.locs = append(cur.segs, s), append(cur.locs, loc)
				end += uint64(loc.Entry.Length)
				return nil
			}
			if err := flush(); err != nil {
				return err
			}
			cur = &fetch{segs: []diskmap.Segment{s}, locs: []index.Location{loc}, done: make(chan struct{})}
			end = loc.Entry.Offset + uint64(loc.Entry.Length)
			return nil
		})
		if genErr == nil {
			genErr = flush()
		}
	}()
	var written int64
	var err error
	for f := range queue {
		if err != nil {
			continue
		}
		<-f.done
		if err = f.err; err != nil {
			cancel()
			continue
		}
		for i, s := range f.segs {
			var data []byte
			if f.datas != nil {
				data = f.datas[i]
			}
			if err = writeSegment(w, s, data, &written); err != nil {
				cancel()
				break
			}
		}
	}
	wg.Wait()
	if err == nil {
		err = genErr
	}
	return written, err
}

func writeSegment(w io.Writer, s diskmap.Segment, data []byte, written *int64) error {
	if s.ID.IsZero() {
		for left := s.N; left > 0; {
			k := min(left, int64(len(zeros)))
			m, err := w.Write(zeros[:k])
			*written += int64(m)
			if err != nil {
				return err
			}
			left -= k
		}
		return nil
	}
	if s.Skip+s.N > int64(len(data)) {
		return fmt.Errorf("chunk %s: %d bytes, extent wants [%d,+%d)", s.ID.Short(), len(data), s.Skip, s.N)
	}
	m, err := w.Write(data[s.Skip : s.Skip+s.N])
	*written += int64(m)
	return err
}
