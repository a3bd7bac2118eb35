package pack_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// TestDecodeView: a raw blob is checked in place, a compressed one decoded
// into the room given; damage is ErrCorrupt either way.
func TestDecodeView(t *testing.T) {
	text := bytes.Repeat([]byte("a line of a log file, "), 4000)
	random := make([]byte, 70000)
	rand.Read(random)
	for _, raw := range [][]byte{text, random} {
		stored, c := chunk.Compress(nil, raw)
		e := pack.Entry{ID: chunk.Sum(raw), Length: uint32(len(stored)), RawLength: uint32(len(raw)), Compression: c}
		room := make([]byte, 0, len(raw))
		got, err := pack.DecodeView(room, stored, e)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("%v: %d bytes, %v", c, len(got), err)
		}
		switch c {
		case chunk.Raw:
			if &got[0] != &stored[0] {
				t.Error("a raw blob was copied")
			}
		default:
			if &got[0] != &room[:1][0] {
				t.Error("a compressed blob was not decoded into the room given")
			}
		}
		bad := bytes.Clone(stored)
		bad[len(bad)/2] ^= 1
		if _, err := pack.DecodeView(room, bad, e); !errors.Is(err, pack.ErrCorrupt) {
			t.Errorf("%v, damaged: %v, want ErrCorrupt", c, err)
		}
		if _, err := pack.DecodeView(room, stored[:len(stored)-1], e); !errors.Is(err, pack.ErrCorrupt) {
			t.Errorf("%v, short: %v, want ErrCorrupt", c, err)
		}
	}
}
