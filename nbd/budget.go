package nbd

import (
	"context"
	"math/bits"
	"sync"
)

// budget bounds the bytes of read buffers held at once, across every
// connection of a server. Waiters are served in order, so a large read is
// not starved by a stream of small ones.
type budget struct {
	size int64

	mu      sync.Mutex
	used    int64         // guarded by mu
	waiters []*budgetWait // guarded by mu; in arrival order
}

type budgetWait struct {
	n     int64
	ready chan struct{} // closed once the bytes are granted
}

func newBudget(size int64) *budget { return &budget{size: size} }

// acquire takes n bytes (n <= size), waiting until they are free or ctx
// ends.
func (b *budget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWait{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.used -= n
	default:
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
	}
	b.grantLocked()
	return ctx.Err()
}

// release returns n bytes.
func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.grantLocked()
	b.mu.Unlock()
}

// grantLocked wakes the waiters at the head of the queue that now fit.
func (b *budget) grantLocked() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.size {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		close(w.ready)
	}
}

// Read buffers are pooled by power-of-two size, from 4 KiB to
// MaxBlockSize, so that a stream of reads does not allocate each time.
const (
	minBufShift = 12
	maxBufShift = 25 // 1<<maxBufShift == MaxBlockSize
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// bufClass is the pool index and capacity of a buffer for n bytes
// (0 < n <= MaxBlockSize).
func bufClass(n int) (int, int) {
	shift := max(bits.Len(uint(n-1)), minBufShift)
	return shift - minBufShift, 1 << shift
}

func getBuf(n int) []byte {
	i, c := bufClass(n)
	if b, ok := bufPools[i].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, c)
}

func putBuf(b []byte) {
	i, c := bufClass(cap(b))
	if c != cap(b) {
		return
	}
	b = b[:c]
	bufPools[i].Put(&b)
}
