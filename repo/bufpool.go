package repo

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Buffer classes of the restore path: powers of two from 64 KiB to 1 MiB,
// then every whole MiB up to 16 MiB, so that a buffer wastes less than
// half of itself up to 1 MiB and less than 1 MiB above. A restore reuses
// its read and decode buffers through them instead of allocating (and
// zeroing) new ones for every read.
const (
	minBufShift  = 16 // 64 KiB
	stepShift    = 20 // 1 MiB: powers of two below, steps of it above
	maxBuf       = 16 << 20
	smallClasses = stepShift - minBufShift // 64 KiB .. 512 KiB
	numClasses   = smallClasses + maxBuf>>stepShift
)

var (
	// bufPools holds free buffers by class.
	bufPools [numClasses]sync.Pool
	// bufInUse is the capacity of the buffers getBuf gave out and putBuf
	// has not had back: what the restores running hold.
	bufInUse atomic.Int64
)

// bufClass is the class of a buffer of n bytes, -1 beyond the largest.
func bufClass(n int) int {
	switch {
	case n <= 1<<minBufShift:
		return 0
	case n <= 1<<stepShift:
		return bits.Len(uint(n-1)) - minBufShift
	case n <= maxBuf:
		return smallClasses + (n-1)>>stepShift
	}
	return -1
}

// classCap is the capacity of the buffers of class c.
func classCap(c int) int {
	if c < smallClasses {
		return 1 << (c + minBufShift)
	}
	return (c - smallClasses + 1) << stepShift
}

// bufCap is the capacity getBuf gives a buffer of n bytes: what a restore
// counts against its memory budget.
func bufCap(n int) int {
	if c := bufClass(n); c >= 0 {
		return classCap(c)
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
	return make([]byte, n, classCap(c))
}

// putBuf gives b back to its pool; b must come from getBuf and not be used
// afterwards.
func putBuf(b []byte) {
	if b == nil {
		return
	}
	bufInUse.Add(-int64(cap(b)))
	c := bufClass(cap(b))
	if c < 0 || cap(b) != classCap(c) {
		return
	}
	b = b[:0]
	bufPools[c].Put(&b)
}
