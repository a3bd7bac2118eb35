package repo

import "testing"

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
