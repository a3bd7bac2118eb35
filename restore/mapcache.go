package restore

import (
	"container/list"
	"context"
	"io"
	"sync"
	"unsafe"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
)

// MapCache is a Source that keeps the disk maps it decoded, the most
// recently used first, within a byte budget. A disk map is named by the
// hash of its content and never changes, so a cached one is as good as a
// fresh read; what a cache saves is the read, the hash and the decoding
// that Open would otherwise repeat for every request of a client that reads
// a disk in many small ranges (qemu over HTTP, an NBD export). Chunks are
// not cached here. Maps handed out are shared: Open and its Disk only read
// them.
type MapCache struct {
	src    Source
	budget int64

	mu    sync.Mutex
	used  int64
	order *list.List // of *cachedMap, most recent first
	byID  map[chunk.ID]*list.Element
}

type cachedMap struct {
	id   chunk.ID
	m    *diskmap.Map
	size int64
}

// NewMapCache returns a cache of src's disk maps holding at most budget
// bytes of decoded maps. A map larger than a quarter of the budget is not
// kept.
func NewMapCache(src Source, budget int64) *MapCache {
	return &MapCache{src: src, budget: budget, order: list.New(), byID: map[chunk.ID]*list.Element{}}
}

// mapSize estimates the memory a decoded map holds.
func mapSize(m *diskmap.Map) int64 {
	return int64(len(m.Extents))*int64(unsafe.Sizeof(diskmap.Extent{})) +
		int64(len(m.Recipe))*int64(unsafe.Sizeof(diskmap.Piece{})) + 64
}

// LoadDiskMap returns the map from the cache, or loads and keeps it.
func (c *MapCache) LoadDiskMap(ctx context.Context, id chunk.ID) (*diskmap.Map, error) {
	c.mu.Lock()
	if e, ok := c.byID[id]; ok {
		c.order.MoveToFront(e)
		m := e.Value.(*cachedMap).m
		c.mu.Unlock()
		return m, nil
	}
	c.mu.Unlock()
	m, err := c.src.LoadDiskMap(ctx, id)
	if err != nil {
		return nil, err
	}
	size := mapSize(m)
	if size > c.budget/4 {
		return m, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; !ok { // another request may have loaded it meanwhile
		c.byID[id] = c.order.PushFront(&cachedMap{id: id, m: m, size: size})
		c.used += size
	}
	for c.used > c.budget {
		e := c.order.Back()
		v := e.Value.(*cachedMap)
		c.order.Remove(e)
		delete(c.byID, v.id)
		c.used -= v.size
	}
	return m, nil
}

// Len is the number of maps held.
func (c *MapCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}

// LoadChunk reads a chunk from the source.
func (c *MapCache) LoadChunk(ctx context.Context, dst []byte, id chunk.ID) ([]byte, error) {
	return c.src.LoadChunk(ctx, dst, id)
}

// WriteSegments writes segments through the source.
func (c *MapCache) WriteSegments(ctx context.Context, w io.Writer, gen func(diskmap.Emit) error) (int64, error) {
	return c.src.WriteSegments(ctx, w, gen)
}
