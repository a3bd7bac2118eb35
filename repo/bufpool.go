package repo

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
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

// The free buffers are kept across garbage collections (the server runs
// with a low GC target, which would empty a sync.Pool several times per
// restore), up to maxFree bytes in all (beyond, the class holding the
// most gives way), and dropped once no buffer was taken for freeIdle.
const (
	maxFree  = 64 << 20
	freeIdle = 30 * time.Second
)

var (
	free = freeList{max: maxFree, idle: freeIdle}
	// bufInUse is the capacity of the buffers getBuf gave out and putBuf
	// has not had back: what the restores running hold.
	bufInUse atomic.Int64
)

// freeList holds free buffers by class: at most max bytes, for idle after
// the last get.
type freeList struct {
	max   int64
	idle  time.Duration
	mu    sync.Mutex
	bufs  [numClasses][][]byte // guarded by mu
	bytes int64                // their capacity, guarded by mu
	taken time.Time            // the last get, guarded by mu
	trim  *time.Timer          // pending drop when idle, guarded by mu
}

func (f *freeList) get(c int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.taken = time.Now()
	s := f.bufs[c]
	if len(s) == 0 {
		return nil
	}
	b := s[len(s)-1]
	f.bufs[c] = s[:len(s)-1]
	f.bytes -= int64(cap(b))
	return b
}

func (f *freeList) put(c int, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if int64(cap(b)) > f.max {
		return
	}
	// Full: make room in the class that holds the most, which the
	// restores running give back more of than they take (what is dropped
	// is left to the garbage collector).
	for f.bytes+int64(cap(b)) > f.max {
		most := c
		for k := range f.bufs {
			if len(f.bufs[k])*classCap(k) > len(f.bufs[most])*classCap(most) {
				most = k
			}
		}
		s := f.bufs[most]
		if len(s) == 0 {
			return
		}
		f.bufs[most] = s[:len(s)-1]
		f.bytes -= int64(classCap(most))
	}
	f.bufs[c] = append(f.bufs[c], b[:0])
	f.bytes += int64(cap(b))
	if f.trim == nil {
		f.trim = time.AfterFunc(f.idle, f.dropIfIdle)
	}
}

// dropIfIdle lets go of every free buffer if none was taken for f.idle,
// and looks again later otherwise.
func (f *freeList) dropIfIdle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if idle := time.Since(f.taken); idle < f.idle {
		f.trim.Reset(f.idle - idle)
		return
	}
	f.bufs, f.bytes, f.trim = [numClasses][][]byte{}, 0, nil
}

// held is the capacity of the free buffers.
func (f *freeList) held() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes
}

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

// getBuf returns a buffer of length n, a free one when there is one. Its
// bytes are not cleared: the caller overwrites them.
func getBuf(n int) []byte {
	bufInUse.Add(int64(bufCap(n)))
	c := bufClass(n)
	if c < 0 {
		return make([]byte, n)
	}
	if b := free.get(c); b != nil {
		return b[:n]
	}
	return make([]byte, n, classCap(c))
}

// putBuf gives b back; b must come from getBuf and not be used afterwards.
func putBuf(b []byte) {
	if b == nil {
		return
	}
	bufInUse.Add(-int64(cap(b)))
	if c := bufClass(cap(b)); c >= 0 && cap(b) == classCap(c) {
		free.put(c, b)
	}
}
