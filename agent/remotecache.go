package agent

import (
	"context"
	"errors"
	"sync"
)

// Small reads of a RemoteDisk go through a cache of aligned blocks: each
// request to the server costs a round trip and the decoding of whole
// chunks, so a run of small reads (a guest reading a file 4 KiB at a time)
// becomes one request per block. Reads of a block or more go straight to
// the server.
const (
	cacheBlock  = 128 << 10 // measured: 256 KiB slows scattered 4 KiB reads by half, 128 KiB not
	cacheBlocks = 32        // 4 MiB per disk
)

// blockCache holds the most recently used blocks of a disk.
type blockCache struct {
	mu     sync.Mutex
	blocks map[int64]*cachedBlock // guarded by mu; by block index
	clock  uint64                 // guarded by mu; ticks at each use
}

type cachedBlock struct {
	ready chan struct{} // closed once data or err is set
	data  []byte
	err   error
	used  uint64 // guarded by blockCache.mu
}

// get returns block i, fetching it with fetch unless it is cached or
// being fetched. A failed fetch is not kept.
func (c *blockCache) get(ctx context.Context, i int64, fetch func(context.Context) ([]byte, error)) ([]byte, error) {
	for {
		c.mu.Lock()
		if c.blocks == nil {
			c.blocks = make(map[int64]*cachedBlock)
		}
		c.clock++
		b, ok := c.blocks[i]
		if ok {
			b.used = c.clock
			c.mu.Unlock()
			select {
			case <-b.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if b.err == nil {
				return b.data, nil
			}
			if isContextErr(b.err) && ctx.Err() == nil {
				continue // the fetch was another caller's, cancelled: fetch again
			}
			return nil, b.err
		}
		b = &cachedBlock{ready: make(chan struct{}), used: c.clock}
		c.evictLocked()
		c.blocks[i] = b
		c.mu.Unlock()

		b.data, b.err = fetch(ctx)
		if b.err != nil {
			c.mu.Lock()
			if c.blocks[i] == b {
				delete(c.blocks, i)
			}
			c.mu.Unlock()
		}
		close(b.ready)
		return b.data, b.err
	}
}

// evictLocked makes room for one more block: it drops the least recently
// used block that is not being fetched.
func (c *blockCache) evictLocked() {
	if len(c.blocks) < cacheBlocks {
		return
	}
	var victim int64 = -1
	var oldest uint64
	for i, b := range c.blocks {
		select {
		case <-b.ready:
		default:
			continue // being fetched
		}
		if victim < 0 || b.used < oldest {
			victim, oldest = i, b.used
		}
	}
	if victim >= 0 {
		delete(c.blocks, victim)
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
