package repo

import (
	"testing"
	"time"
)

// TestBufClasses: a buffer holds what was asked, wastes at most a quarter
// of itself or 1 MiB, and comes back to the class it went out of.
func TestBufClasses(t *testing.T) {
	for n := 1; n <= maxBuf+1; n += 4093 {
		c := bufCap(n)
		if c < n || (n > 1<<minBufShift && c-n > max(c/2, 1<<stepShift)) {
			t.Fatalf("%d bytes: a buffer of %d", n, c)
		}
		b := getBuf(n)
		if len(b) != n || cap(b) != c {
			t.Fatalf("%d bytes: got len %d cap %d, want cap %d", n, len(b), cap(b), c)
		}
		putBuf(b)
		if k := bufClass(c); n <= maxBuf && (k < 0 || classCap(k) != c) {
			t.Fatalf("%d bytes: capacity %d is not a class", n, c)
		}
	}
	if bufInUse.Load() != 0 {
		t.Errorf("%d bytes still counted in use", bufInUse.Load())
	}
}

// TestFreeList: free buffers are kept up to the cap, reused, and dropped
// once none was taken for the idle time.
func TestFreeList(t *testing.T) {
	f := &freeList{max: 3 << 20, idle: 50 * time.Millisecond}
	c := bufClass(1 << 20)
	for range 5 {
		f.put(c, make([]byte, 1<<20))
	}
	if got := f.held(); got != 3<<20 {
		t.Fatalf("holds %d bytes, want the cap %d", got, 3<<20)
	}
	if b := f.get(c); cap(b) != 1<<20 || f.held() != 2<<20 {
		t.Fatalf("get: cap %d, %d bytes left", cap(b), f.held())
	}
	if b := f.get(bufClass(2 << 20)); b != nil {
		t.Fatal("a buffer of another class")
	}
	// Full: a buffer of another class takes the place of one of the class
	// holding the most.
	f.put(c, make([]byte, 1<<20))
	f.put(bufClass(2<<20), make([]byte, 2<<20))
	if f.held() != 3<<20 || len(f.bufs[c]) != 1 || len(f.bufs[bufClass(2<<20)]) != 1 {
		t.Fatalf("holds %d bytes: %d of 1 MiB, %d of 2 MiB", f.held(), len(f.bufs[c]), len(f.bufs[bufClass(2<<20)]))
	}
	f.get(bufClass(2 << 20))
	// Taken from regularly: kept.
	for range 4 {
		time.Sleep(20 * time.Millisecond)
		f.put(c, f.get(c))
	}
	if f.held() != 1<<20 {
		t.Fatalf("dropped while in use: %d bytes", f.held())
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.held() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f.held() != 0 {
		t.Fatalf("still %d bytes after idling", f.held())
	}
}
