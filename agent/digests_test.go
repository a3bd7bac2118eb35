package agent

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/zeebo/blake3"
)

// sparse is a disk whose second half is unallocated.
type sparse struct{ *bytes.Reader }

func (s sparse) Allocated(off, n int64) bool { return off < s.Size()/2 }

// TestBlockDigests: the digests are the blocks' BLAKE3 whether a block is
// hashed, found all zero, or known unallocated; the last block is short.
func TestBlockDigests(t *testing.T) {
	data := make([]byte, 5<<20+1234)
	for i := 0; i < 2<<20; i++ {
		data[i] = byte(i * 7)
	}
	want := func(bs int) []byte {
		var out []byte
		for off := 0; off < len(data); off += bs {
			s := blake3.Sum256(data[off:min(off+bs, len(data))])
			out = append(out, s[:]...)
		}
		return out
	}
	for _, r := range []io.ReaderAt{bytes.NewReader(data), sparse{bytes.NewReader(data)}} {
		got, err := BlockDigests(context.Background(), r, int64(len(data)), 1<<20)
		if err != nil || !bytes.Equal(got, want(1<<20)) {
			t.Fatalf("%T: digests differ (%v)", r, err)
		}
	}
	got, err := rangeDigests(bytes.NewReader(data), 1<<20, 4<<20+1234, 64<<10)
	if err != nil || !bytes.Equal(got, want(64 << 10)[16*32:]) {
		t.Fatalf("range digests differ (%v)", err)
	}
}
