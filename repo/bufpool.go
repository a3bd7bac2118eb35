package repo

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Buffer classes of the restore path: powers of two from minBufShift to
// maxBufShift bytes. A restore reuses its read and decode buffers through
// them instead of allocating (and zeroing) new ones for every read.
const (
	minBufShift = 16 // 64 KiB
	maxBufShift = 24 // 16 MiB
)

var (
	// bufPools holds free buffers by class.
	bufPools [maxBufShift - minBufShift + 1]sync.Pool
	// bufInUse is the capacity of the buffers getBuf gave out and putBuf
	// has not had back: what the restores running hold.
	bufInUse atomic.Int64
)

// bufClass is the class of a buffer of n bytes: the smallest power of two
// that holds n, and -1 beyond the largest class.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minBufShift
	if c >= len(bufPools) {
		return -1
	}
	return c
}

// bufCap is the capacity getBuf gives a buffer of n bytes: what a restore
// counts against its memory budget.
func bufCap(n int) int {
	if c := bufClass(n); c >= 0 {
		return 1 << (c + minBufShift)
	}
	return n
}

// getBuf returns a buffer of length n, from the pool when one is free.
// Its bytes are not cleared: the caller overwrites them.
func getBuf(n int) []byte {
	bufInUse.Add(int64(bufCap(n)))
	c := bufClass(n)
	if c < 0 {
		return make([]byte, n)
	}
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<(c+minBufShift))
}

// putBuf gives b back to its pool; b must come from getBuf and not be used
// afterwards.
func putBuf(b []byte) {
	if b == nil {
		return
	}
	bufInUse.Add(-int64(cap(b)))
	c := bufClass(cap(b))
	if c < 0 || cap(b) != 1<<(c+minBufShift) {
		return
	}
	b = b[:0]
	bufPools[c].Put(&b)
}
