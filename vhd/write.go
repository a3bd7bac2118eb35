package vhd

import "io"

// Disk is the virtual content a writer reads.
type Disk interface {
	io.ReaderAt
	Size() int64
	// Allocated reports whether [off, off+n) may hold non-zero data; false
	// means it is all zero.
	Allocated(off, n int64) bool
}

// countWriter counts bytes and keeps the first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

var zeros [64 << 10]byte

// zeroFill writes n zero bytes.
func (c *countWriter) zeroFill(n int64) {
	for n > 0 && c.err == nil {
		m := min(n, int64(len(zeros)))
		c.Write(zeros[:m])
		n -= m
	}
}
