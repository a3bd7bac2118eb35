package s3

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// pattern is a deterministic, incompressible object of a given size that
// takes no memory: byte i is derived from (seed, i). It is an
// io.ReadSeeker and an io.ReaderAt, like a pack in a file. onRead, if set,
// is called with the end offset of every read.
type pattern struct {
	seed, size, pos int64
	onRead          func(end int64)
}

func (p *pattern) word(i int64) uint64 {
	z := uint64(p.seed)*0x9e3779b97f4a7c15 + uint64(i)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (p *pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-off))
	var w [8]byte
	for i := 0; i < n; {
		o := off + int64(i)
		binary.LittleEndian.PutUint64(w[:], p.word(o/8))
		i += copy(b[i:n], w[o%8:])
	}
	if p.onRead != nil {
		p.onRead(off + int64(n))
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (p *pattern) Read(b []byte) (int, error) {
	n, err := p.ReadAt(b, p.pos)
	p.pos += int64(n)
	return n, err
}

func (p *pattern) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += p.pos
	case io.SeekEnd:
		off += p.size
	}
	if off < 0 {
		return 0, fmt.Errorf("seek to %d", off)
	}
	p.pos = off
	return off, nil
}

// checkPattern reads h back in pieces and compares it with want.
func checkPattern(ctx context.Context, b backend.Backend, h backend.Handle, want *pattern) error {
	fi, err := b.Stat(ctx, h)
	if err != nil {
		return err
	}
	if fi.Size != want.size {
		return fmt.Errorf("%s: size %d, want %d", h, fi.Size, want.size)
	}
	got, exp := make([]byte, 4<<20), make([]byte, 4<<20)
	for off := int64(0); off < want.size; off += int64(len(got)) {
		n := min(int64(len(got)), want.size-off)
		if _, err := b.ReadAt(ctx, h, got[:n], off); err != nil {
			return err
		}
		want.ReadAt(exp[:n], off)
		if !bytes.Equal(got[:n], exp[:n]) {
			return fmt.Errorf("%s: bytes at %d differ", h, off)
		}
	}
	return nil
}

func TestPattern(t *testing.T) {
	p := &pattern{seed: 1, size: 1000}
	all, err := io.ReadAll(p)
	if err != nil || len(all) != 1000 {
		t.Fatalf("read all: %d, %v", len(all), err)
	}
	part := make([]byte, 13)
	if n, _ := p.ReadAt(part, 501); n != 13 || !bytes.Equal(part, all[501:514]) {
		t.Fatal("ReadAt disagrees with Read")
	}
}
