package ingest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"io"
	"runtime"
	"sort"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/vhd"
)

// Saver stores chunks. Save returns the stored size when it stored the
// chunk, and 0 when the repository already had it.
type Saver interface {
	Save(ctx context.Context, id chunk.ID, data []byte) (stored int, err error)
}

// ErrTrailingData is returned when the body goes on after the container ends.
var ErrTrailingData = errors.New("data after the end of the disk image")

// Options configure one ingest.
type Options struct {
	Params     chunk.Params
	IDs        chunk.Hasher // chunk IDs: plain BLAKE3, or keyed in an encrypted repository
	Workers    int          // hash/save workers; default GOMAXPROCS
	Format     vhd.Format   // 0: detect
	SpillDir   string
	SpillLimit int64
	// Hints, if not nil, force chunk cuts at file boundaries and turn free
	// ranges into zero extents. They must be normalized.
	Hints *diskmap.Hints
	// SegmentSize is the length of the segments runs of content are
	// chunked in by several workers at once (default DefaultSegmentSize,
	// at least Params.MaxSize); the chunks are the same whatever it is.
	// With one worker, or a negative SegmentSize, one goroutine chunks the
	// stream.
	SegmentSize int
}

// defaults checks the chunker parameters and fills in the worker count.
func (o *Options) defaults() error {
	if err := o.Params.Validate(); err != nil {
		return err
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SegmentSize > 0 && o.SegmentSize < int(o.Params.MaxSize) {
		// The stitcher holds the bytes from the last cut on, up to a
		// chunk's worth: at most three segments of at least a chunk.
		o.SegmentSize = int(o.Params.MaxSize)
	}
	return nil
}

// Result is an ingested disk, in the terms the repository stores it.
type Result struct {
	Format       diskmap.Format
	Container    diskmap.Container
	Map          *diskmap.Map
	StreamBytes  int64
	StreamBLAKE3 string
	Chunks       int
	// Guest records what the hints did; nil without hints.
	Guest *diskmap.GuestHints
	// Changed counts the bytes an incremental upload wrote over its base.
	Changed int64
}

// job is one chunk on its way to the Saver, with the slot for its ID.
type job struct {
	bufp *[]byte
	data []byte
	id   *chunk.ID
}

// Disk ingests one disk stream from body.
func Disk(ctx context.Context, body io.Reader, s Saver, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	hr := newHashReader(ctx, body)
	defer hr.Close()
	st, err := vhd.NewStream(hr, vhd.Options{Context: ctx, Format: opts.Format, SpillDir: opts.SpillDir, SpillLimit: opts.SpillLimit})
	if err != nil {
		return nil, err
	}
	defer st.Close()

	pool, jobs, wait := startSavers(ctx, cancel, s, opts)
	w := newWalker(ctx, st, opts.Params, pool, jobs)
	if opts.Hints != nil {
		w.hints, w.cuts = opts.Hints, opts.Hints
	}
	var werr error
	if opts.Workers > 1 && opts.SegmentSize > 0 {
		pc := newParallelChunker(ctx, cancel, opts.Params, opts.SegmentSize, opts.Workers, pool, jobs)
		werr = w.runSegments(pc)
		if err := pc.close(); werr == nil {
			werr = err
		}
		w.extents = append(w.extents, pc.extents...)
		w.chunks += pc.chunks
	} else {
		werr = w.run()
	}
	wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	if werr != nil {
		return nil, werr
	}
	info := st.Info()
	if info.VirtualSize == 0 {
		// Nothing to back up: refuse it, so that it never becomes a
		// snapshot that retention could keep in place of a real one.
		return nil, fmt.Errorf("%w: %s disk, %d bytes received", vhd.ErrEmptyDisk, info.Format, hr.n)
	}
	if err := hr.expectEOF(); err != nil {
		return nil, err
	}
	if opts.Hints != nil {
		if err := opts.Hints.Check(info.VirtualSize); err != nil {
			return nil, err
		}
	}
	res := &Result{
		Format: format(info.Format), Container: container(info), Map: &diskmap.Map{VirtualSize: info.VirtualSize},
		StreamBytes: hr.n, StreamBLAKE3: hex.EncodeToString(hr.sum()), Chunks: w.chunks,
	}
	if h := opts.Hints; h != nil {
		res.Guest = &diskmap.GuestHints{Boundaries: len(h.Cuts), FreeRanges: len(h.Free),
			FreeExcluded: len(h.Free) > 0, FreeBytes: w.freeBytes}
	}
	if info.FileSize != hr.n {
		return nil, fmt.Errorf("%w: container is %d bytes, stream %d", vhd.ErrCorrupt, info.FileSize, hr.n)
	}
	fill := diskmap.ExtentZero
	if info.HasParent {
		fill = diskmap.ExtentParent
	}
	res.Map.Extents, err = normalize(w.extents, info.VirtualSize, fill)
	if err != nil {
		return nil, err
	}
	res.Map.Recipe = make([]diskmap.Piece, 0, len(w.recipe))
	var fileLen int64
	for _, p := range w.recipe {
		res.Map.Recipe = append(res.Map.Recipe, *p)
		fileLen += p.Length
	}
	if fileLen != hr.n {
		return nil, fmt.Errorf("%w: recipe covers %d of %d bytes", vhd.ErrCorrupt, fileLen, hr.n)
	}
	return res, nil
}

// startSavers starts opts.Workers goroutines that hash the chunks sent on
// jobs and save them, and returns the buffer pool chunks come in. wait
// closes jobs and waits for the workers. A failed save cancels ctx.
func startSavers(ctx context.Context, cancel context.CancelCauseFunc, s Saver, opts Options) (pool *sync.Pool, jobs chan job, wait func()) {
	// Buffers start at twice the average chunk and grow to the maximum only
	// when a chunk needs it, so chunks in flight hold little memory.
	initial := min(int(opts.Params.MaxSize), 2<<opts.Params.AvgBits)
	pool = &sync.Pool{New: func() any { b := make([]byte, 0, initial); return &b }}
	jobs = make(chan job, 2*opts.Workers)
	var wg sync.WaitGroup
	for i := 0; i < opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() == nil {
					id := opts.IDs.Sum(j.data)
					if _, err := s.Save(ctx, id, j.data); err != nil {
						cancel(fmt.Errorf("save chunk: %w", err))
					}
					*j.id = id
				}
				*j.bufp = j.data[:0]
				pool.Put(j.bufp)
			}
		}()
	}
	return pool, jobs, func() {
		close(jobs)
		wg.Wait()
	}
}

// normalize sorts extents, fills gaps with fill and merges neighbours.
func normalize(ptrs []*diskmap.Extent, size int64, fill diskmap.ExtentKind) ([]diskmap.Extent, error) {
	ext := make([]diskmap.Extent, len(ptrs))
	for i, p := range ptrs {
		ext[i] = *p
	}
	sort.SliceStable(ext, func(i, j int) bool { return ext[i].Offset < ext[j].Offset })
	out := make([]diskmap.Extent, 0, len(ext)+1)
	add := func(e diskmap.Extent) {
		if e.Length == 0 {
			return
		}
		if n := len(out); n > 0 && e.Kind != diskmap.ExtentData && out[n-1].Kind == e.Kind {
			out[n-1].Length += e.Length
			return
		}
		out = append(out, e)
	}
	var pos int64
	for _, e := range ext {
		if e.Offset < pos {
			return nil, fmt.Errorf("%w: virtual range at %d written twice", vhd.ErrCorrupt, e.Offset)
		}
		add(diskmap.Extent{Offset: pos, Length: e.Offset - pos, Kind: fill})
		add(e)
		pos = e.Offset + e.Length
	}
	if pos > size {
		return nil, fmt.Errorf("%w: content up to %d in a disk of %d bytes", vhd.ErrCorrupt, pos, size)
	}
	add(diskmap.Extent{Offset: pos, Length: size - pos, Kind: fill})
	return out, nil
}
