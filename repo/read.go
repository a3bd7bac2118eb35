package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// ErrMissingChunk is returned when a referenced chunk is not indexed.
var ErrMissingChunk = errors.New("chunk missing from the index")

// ErrNoParent is returned when a differencing disk is read without its parent.
var ErrNoParent = errors.New("parent disk not available")

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

// segment is a piece of output: part of a chunk, or zeros.
type segment struct {
	id      chunk.ID // zero ID: zeros
	skip, n int64    // bytes of the chunk to skip, then to write
}

// DiskReader reads a snapshot disk: its virtual content, or the original
// container file through its recipe.
type DiskReader struct {
	r      *Repository
	m      *DiskMap
	parent *DiskReader

	mu    sync.Mutex
	cache []cacheEntry // most recent first, guarded by mu
}

// OpenDisk opens disk name of snapshot m. parent, if not nil, supplies the
// content of parent extents (differencing disks).
func (r *Repository) OpenDisk(ctx context.Context, m *Manifest, name string, parent *DiskReader) (*DiskReader, error) {
	d, ok := m.Disk(name)
	if !ok {
		return nil, fmt.Errorf("snapshot %s has no disk %q: %w", m.ID, name, ErrUnknownSnapshot)
	}
	dm, err := r.LoadDiskMap(ctx, d.DiskMap)
	if err != nil {
		return nil, err
	}
	return &DiskReader{r: r, m: dm, parent: parent}, nil
}

// Size is the virtual size.
func (d *DiskReader) Size() int64 { return d.m.VirtualSize }

// Map returns the disk map.
func (d *DiskReader) Map() *DiskMap { return d.m }

// OriginalSize is the size of the uploaded container file.
func (d *DiskReader) OriginalSize() int64 { return d.m.RecipeSize() }

// Allocated reports whether [off, off+n) holds any data extent.
func (d *DiskReader) Allocated(off, n int64) bool {
	alloc := false
	_ = d.virtualSegments(off, n, func(s segment) error {
		alloc = alloc || !s.id.IsZero()
		return nil
	})
	return alloc
}

// virtualSegments emits the segments of virtual range [off, off+n).
func (d *DiskReader) virtualSegments(off, n int64, emit func(segment) error) error {
	if off < 0 || n < 0 || off+n > d.m.VirtualSize {
		return fmt.Errorf("read [%d,+%d) of a %d byte disk: %w", off, n, d.m.VirtualSize, io.ErrUnexpectedEOF)
	}
	ext := d.m.Extents
	i := sort.Search(len(ext), func(i int) bool { return ext[i].Offset+ext[i].Length > off })
	for end := off + n; off < end && i < len(ext); i++ {
		e := ext[i]
		skip := off - e.Offset
		take := min(e.Length-skip, end-off)
		var err error
		switch e.Kind {
		case chunk.ExtentData:
			err = emit(segment{id: e.ID, skip: skip, n: take})
		case chunk.ExtentZero:
			err = emit(segment{n: take})
		case chunk.ExtentParent:
			if d.parent == nil {
				return fmt.Errorf("read at %d: %w", off, ErrNoParent)
			}
			err = d.parent.virtualSegments(off, take, emit)
		}
		if err != nil {
			return err
		}
		off += take
	}
	return nil
}

// originalSegments emits the segments of the container file.
func (d *DiskReader) originalSegments(emit func(segment) error) error {
	for _, p := range d.m.Recipe {
		var err error
		switch p.Kind {
		case chunk.PieceData:
			err = emit(segment{id: p.ID, n: p.Length})
		case chunk.PieceZero:
			err = emit(segment{n: p.Length})
		case chunk.PieceVirtual:
			err = d.virtualSegments(p.VOffset, p.Length, emit)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// WriteVirtual streams virtual range [off, off+n) to w.
func (d *DiskReader) WriteVirtual(ctx context.Context, w io.Writer, off, n int64) (int64, error) {
	return d.r.stream(ctx, w, func(emit func(segment) error) error { return d.virtualSegments(off, n, emit) })
}

// WriteOriginal streams the uploaded container file to w.
func (d *DiskReader) WriteOriginal(ctx context.Context, w io.Writer) (int64, error) {
	return d.r.stream(ctx, w, d.originalSegments)
}

// ReadAt reads virtual content; it makes DiskReader an io.ReaderAt. Small
// random reads (a filesystem browsed inside the disk) go through a bounded
// cache of decoded chunks; large reads fetch chunks in parallel.
func (d *DiskReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at %d: negative offset", off)
	}
	n := min(int64(len(p)), d.m.VirtualSize-off)
	if n <= 0 {
		return 0, io.EOF
	}
	var err error
	if n >= 4<<20 {
		_, err = d.r.stream(context.Background(), &sliceWriter{p: p[:n]}, func(emit func(segment) error) error {
			return d.virtualSegments(off, n, emit)
		})
	} else {
		pos := 0
		err = d.virtualSegments(off, n, func(s segment) error {
			if s.id.IsZero() {
				clear(p[pos : pos+int(s.n)])
			} else {
				data, err := d.cachedChunk(s.id)
				if err != nil {
					return err
				}
				copy(p[pos:pos+int(s.n)], data[s.skip:s.skip+s.n])
			}
			pos += int(s.n)
			return nil
		})
	}
	if err != nil {
		return 0, err
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// chunkCacheSize bounds the decoded chunks a DiskReader keeps (at most
// 1 MiB each).
const chunkCacheSize = 16

func (d *DiskReader) cachedChunk(id chunk.ID) ([]byte, error) {
	d.mu.Lock()
	for i, e := range d.cache {
		if e.id == id {
			// move to front
			copy(d.cache[1:i+1], d.cache[:i])
			d.cache[0] = e
			d.mu.Unlock()
			return e.data, nil
		}
	}
	d.mu.Unlock()
	data, err := d.r.LoadChunk(context.Background(), nil, id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.cache) < chunkCacheSize {
		d.cache = append(d.cache, cacheEntry{})
	}
	copy(d.cache[1:], d.cache[:len(d.cache)-1])
	d.cache[0] = cacheEntry{id: id, data: data}
	d.mu.Unlock()
	return data, nil
}

type cacheEntry struct {
	id   chunk.ID
	data []byte
}

type sliceWriter struct {
	p []byte
	n int
}

func (s *sliceWriter) Write(b []byte) (int, error) {
	n := copy(s.p[s.n:], b)
	s.n += n
	return n, nil
}

var zeros = make([]byte, 1<<20)

type fetch struct {
	segs  []segment
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

// stream writes the segments produced by gen to w in order. Chunks stored
// next to each other in a pack are fetched with one ranged read (up to
// maxBatch), and restoreParallel reads are in flight at once.
func (r *Repository) stream(ctx context.Context, w io.Writer, gen func(func(segment) error) error) (int64, error) {
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
		genErr = gen(func(s segment) error {
			if s.id.IsZero() {
				if err := flush(); err != nil {
					return err
				}
				return dispatch(&fetch{segs: []segment{s}, done: make(chan struct{})})
			}
			loc, ok, err := r.idx.Lookup(s.id)
			if err == nil && !ok {
				err = fmt.Errorf("chunk %s: %w", s.id.Short(), ErrMissingChunk)
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
			cur = &fetch{segs: []segment{s}, locs: []index.Location{loc}, done: make(chan struct{})}
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

func writeSegment(w io.Writer, s segment, data []byte, written *int64) error {
	if s.id.IsZero() {
		for left := s.n; left > 0; {
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
	if s.skip+s.n > int64(len(data)) {
		return fmt.Errorf("chunk %s: %d bytes, extent wants [%d,+%d)", s.id.Short(), len(data), s.skip, s.n)
	}
	m, err := w.Write(data[s.skip : s.skip+s.n])
	*written += int64(m)
	return err
}
