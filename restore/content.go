package restore

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
)

// content is a disk's virtual content: its disk map, reading parent
// extents through the parent's content (a differencing chain). It is an
// io.ReaderAt whose reads carry the context it was opened with, and it
// satisfies the vhd package's writer input.
type content struct {
	ctx    context.Context
	src    Source
	m      *diskmap.Map
	mapID  chunk.ID // of m
	parent *content
	cache  *chunkCache
}

// Size is the virtual size.
func (c *content) Size() int64 { return c.m.VirtualSize }

// segments emits the segments of virtual range [off, off+n).
func (c *content) segments(off, n int64, emit diskmap.Emit) error {
	var parent func(off, n int64) error
	if c.parent != nil {
		parent = func(off, n int64) error { return c.parent.segments(off, n, emit) }
	}
	return c.m.VirtualSegments(off, n, parent, emit)
}

// readable checks that every parent extent has a parent to read from.
func (c *content) readable() error {
	for ; c != nil; c = c.parent {
		if c.m.HasParentExtents() && c.parent == nil {
			return fmt.Errorf("differencing disk: %w", ErrNoParent)
		}
	}
	return nil
}

// Allocated reports whether [off, off+n) holds any data extent.
func (c *content) Allocated(off, n int64) bool {
	alloc := false
	_ = c.segments(off, n, func(s diskmap.Segment) error {
		alloc = alloc || !s.Zero()
		return nil
	})
	return alloc
}

// ReadAt reads virtual content with the context the disk was opened with.
func (c *content) ReadAt(p []byte, off int64) (int, error) {
	return c.ReadAtContext(c.ctx, p, off)
}

// ReadAtContext reads virtual content. Small random reads (a filesystem
// browsed inside the disk) go through a bounded cache of decoded chunks;
// large reads fetch chunks in parallel.
func (c *content) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at %d: negative offset", off)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := min(int64(len(p)), c.m.VirtualSize-off)
	if n <= 0 {
		return 0, io.EOF
	}
	var err error
	if n >= 4<<20 {
		_, err = c.src.WriteSegments(ctx, &sliceWriter{p: p[:n]}, func(emit diskmap.Emit) error {
			return c.segments(off, n, emit)
		})
	} else {
		pos := 0
		err = c.segments(off, n, func(s diskmap.Segment) error {
			if s.Zero() {
				clear(p[pos : pos+int(s.N)])
			} else {
				data, err := c.cache.get(ctx, c.src, s.ID)
				if err != nil {
					return err
				}
				if s.Skip+s.N > int64(len(data)) {
					return fmt.Errorf("chunk %s: %d bytes, extent wants [%d,+%d)", s.ID.Short(), len(data), s.Skip, s.N)
				}
				copy(p[pos:pos+int(s.N)], data[s.Skip:s.Skip+s.N])
			}
			pos += int(s.N)
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

// chunkCacheSize bounds the decoded chunks a disk keeps (at most 1 MiB
// each).
const chunkCacheSize = 16

// chunkCache keeps the most recently read chunks of a disk and its parents.
type chunkCache struct {
	mu      sync.Mutex
	entries []cacheEntry // most recent first, guarded by mu
}

type cacheEntry struct {
	id   chunk.ID
	data []byte
}

func (cc *chunkCache) get(ctx context.Context, src Source, id chunk.ID) ([]byte, error) {
	cc.mu.Lock()
	for i, e := range cc.entries {
		if e.id == id {
			copy(cc.entries[1:i+1], cc.entries[:i])
			cc.entries[0] = e
			cc.mu.Unlock()
			return e.data, nil
		}
	}
	cc.mu.Unlock()
	data, err := src.LoadChunk(ctx, nil, id)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	if len(cc.entries) < chunkCacheSize {
		cc.entries = append(cc.entries, cacheEntry{})
	}
	copy(cc.entries[1:], cc.entries[:len(cc.entries)-1])
	cc.entries[0] = cacheEntry{id: id, data: data}
	cc.mu.Unlock()
	return data, nil
}

// sliceWriter fills a buffer in order.
type sliceWriter struct {
	p []byte
	n int
}

func (s *sliceWriter) Write(b []byte) (int, error) {
	n := copy(s.p[s.n:], b)
	s.n += n
	if n < len(b) {
		return n, io.ErrShortWrite
	}
	return n, nil
}

// reusable lists the extents of [off, off+n) that name whole chunks or
// zeros, reading parent extents through the chain; a chunk of a parent
// that the range cuts is left out.
func (c *content) reusable(off, n int64, out []diskmap.Extent) []diskmap.Extent {
	ext := c.m.Extents
	i := sort.Search(len(ext), func(i int) bool { return ext[i].Offset+ext[i].Length > off })
	for end := off + n; i < len(ext) && ext[i].Offset < end; i++ {
		e := ext[i]
		lo, hi := max(e.Offset, off), min(e.Offset+e.Length, end)
		switch e.Kind {
		case diskmap.ExtentData:
			if lo == e.Offset && hi == e.Offset+e.Length {
				out = append(out, e)
			}
		case diskmap.ExtentZero:
			out = append(out, diskmap.Extent{Offset: lo, Length: hi - lo, Kind: diskmap.ExtentZero})
		case diskmap.ExtentParent:
			if c.parent != nil {
				out = c.parent.reusable(lo, hi-lo, out)
			}
		}
	}
	return out
}
