package vhd

import (
	"crypto/rand"
	"fmt"
	"io"
)

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

// copyBlock writes n bytes of d at off, reading in steps of len(buf), with
// zeros past the end of the disk.
func (c *countWriter) copyBlock(d Disk, off, n int64, buf []byte) {
	size := d.Size()
	for n > 0 && c.err == nil {
		m := min(n, int64(len(buf)))
		b := buf[:m]
		in := max(0, min(m, size-off))
		if in > 0 {
			k, err := d.ReadAt(b[:in], off)
			if int64(k) < in {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				c.err = fmt.Errorf("vhd: read disk at %d: %w", off, err)
				return
			}
		}
		clear(b[in:])
		c.Write(b)
		off += m
		n -= m
	}
}

func randomGUID() guid {
	var g guid
	rand.Read(g[:])
	g[7] = g[7]&0x0f | 0x40 // version 4 (Data3 is little-endian on disk)
	g[8] = g[8]&0x3f | 0x80
	return g
}

// allocatedBlocks lists, for each block of bs bytes, whether it is written.
func allocatedBlocks(d Disk, size, bs int64) []bool {
	n := ceilDiv(size, bs)
	a := make([]bool, n)
	for i := range a {
		off := int64(i) * bs
		a[i] = d.Allocated(off, min(bs, d.Size()-off))
	}
	return a
}

func countTrue(a []bool) int64 {
	var n int64
	for _, b := range a {
		if b {
			n++
		}
	}
	return n
}
