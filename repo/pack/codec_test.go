package pack

import (
	"bytes"
	"errors"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/crypt"
)

func sealedCodec(t *testing.T) Codec {
	t.Helper()
	m, err := crypt.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	k := crypt.Derive(m)
	return Codec{Sealer: k, IDs: chunk.KeyedHasher(k.IDKey())}
}

// sealedPack writes a pack of three chunks (compressible, incompressible,
// tiny) and returns it with the chunks.
func sealedPack(t *testing.T, c Codec) ([]byte, [][]byte) {
	t.Helper()
	noise := make([]byte, 70000)
	x := uint32(1)
	for i := range noise {
		x = x*1664525 + 1013904223
		noise[i] = byte(x >> 24)
	}
	chunks := [][]byte{bytes.Repeat([]byte("NTFS file record "), 4000), noise, []byte("x")}
	w := c.NewWriter(1 << 20)
	for _, d := range chunks {
		if _, err := w.AddCompress(c.IDs.Sum(d), d); err != nil {
			t.Fatal(err)
		}
	}
	p, _, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return p, chunks
}

func TestSealedPackRoundTrip(t *testing.T) {
	c := sealedCodec(t)
	p, chunks := sealedPack(t, c)
	entries, err := c.ReadTrailer(bytes.NewReader(p), int64(len(p)))
	if err != nil || len(entries) != len(chunks) {
		t.Fatalf("trailer: %v (%d entries)", err, len(entries))
	}
	for i, e := range entries {
		if e.ID != c.IDs.Sum(chunks[i]) || e.ID == chunk.Sum(chunks[i]) {
			t.Fatalf("entry %d: ID is not the keyed ID", i)
		}
		stored := p[e.Offset : e.Offset+uint64(e.Length)]
		for _, dec := range []func([]byte, []byte, Entry) ([]byte, error){c.Decode, c.DecodeView} {
			// DecodeView opens a raw blob in place: give it a copy.
			got, err := dec(make([]byte, 0, 8), bytes.Clone(stored), e)
			if err != nil || !bytes.Equal(got, chunks[i]) {
				t.Fatalf("entry %d: decode: %v", i, err)
			}
		}
		// Neither the content nor the plain or keyed ID is in the pack.
		for _, needle := range [][]byte{chunks[i][:min(16, len(chunks[i]))], func() []byte { id := chunk.Sum(chunks[i]); return id[:] }(), e.ID[:]} {
			if len(needle) >= 16 && bytes.Contains(p, needle) {
				t.Fatalf("entry %d: %x visible in the sealed pack", i, needle[:8])
			}
		}
	}
}

// A flipped byte anywhere in a blob, a blob read in another entry's place,
// and a pack of the other codec are all refused as corrupt.
func TestSealedPackRefuses(t *testing.T) {
	c := sealedCodec(t)
	p, _ := sealedPack(t, c)
	entries, _ := c.ReadTrailer(bytes.NewReader(p), int64(len(p)))
	e := entries[1]
	for i := e.Offset; i < e.Offset+uint64(e.Length); i += 97 {
		q := bytes.Clone(p)
		q[i] ^= 0x10
		if _, err := c.Decode(nil, q[e.Offset:e.Offset+uint64(e.Length)], e); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	// Opened in place, a flipped byte is refused all the same.
	q := bytes.Clone(p[e.Offset : e.Offset+uint64(e.Length)])
	q[len(q)/3] ^= 4
	if _, err := c.DecodeView(nil, q, e); e.Compression == chunk.Raw && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped byte, opened in place: %v", err)
	}
	swapped := e
	swapped.ID = entries[0].ID
	if _, err := c.Decode(nil, p[e.Offset:e.Offset+uint64(e.Length)], swapped); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("blob read as another chunk: %v", err)
	}
	if _, err := sealedCodec(t).ReadTrailer(bytes.NewReader(p), int64(len(p))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailer under another key: %v", err)
	}
	if _, err := (Codec{}).ReadTrailer(bytes.NewReader(p), int64(len(p))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("sealed pack read as plain: %v", err)
	}
	w := NewWriter(1 << 10)
	w.AddCompress(chunk.Sum([]byte("a")), []byte("a"))
	plain, _, _ := w.Finish()
	if _, err := c.ReadTrailer(bytes.NewReader(plain), int64(len(plain))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("plain pack read as sealed: %v", err)
	}
}
