package chunk

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/restic/chunker"
)

func TestIDText(t *testing.T) {
	id := Sum([]byte("shadowvault"))
	back, err := ParseID(id.String())
	if err != nil || back != id || id.IsZero() || !(ID{}).IsZero() {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, bad := range []string{"", "abc", id.String()[:63] + "g"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
	b, _ := id.MarshalText()
	var u ID
	if err := u.UnmarshalText(b); err != nil || u != id {
		t.Fatal("text marshalling")
	}
}

func TestCompress(t *testing.T) {
	text := bytes.Repeat([]byte("a compressible chunk "), 5000)
	noise := make([]byte, 100000)
	rand.Read(noise)
	for _, c := range []struct {
		name string
		data []byte
		want Compression
	}{{"text", text, Zstd}, {"noise", noise, Raw}, {"empty", nil, Raw}} {
		stored, comp := Compress([]byte("prefix"), c.data)
		if comp != c.want {
			t.Errorf("%s: compression %v, want %v", c.name, comp, c.want)
		}
		if string(stored[:6]) != "prefix" {
			t.Fatalf("%s: dst prefix lost", c.name)
		}
		out, err := Decompress(nil, stored[6:], comp, len(c.data))
		if err != nil || !bytes.Equal(out, c.data) {
			t.Fatalf("%s: round trip: %v", c.name, err)
		}
		if _, err := Decompress(nil, stored[6:], comp, len(c.data)+1); err == nil {
			t.Fatalf("%s: wrong raw length accepted", c.name)
		}
	}
	if _, err := Decompress(nil, []byte("not zstd"), Zstd, 8); err == nil {
		t.Fatal("garbage decompressed")
	}
}

func TestIsZero(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 4096, 65537} {
		p := make([]byte, n)
		if !IsZero(p) {
			t.Fatalf("zeros of %d not zero", n)
		}
		for i := 0; i < n; i += max(1, n/7) {
			p[i] = 1
			if IsZero(p) {
				t.Fatalf("byte %d of %d set, still zero", i, n)
			}
			p[i] = 0
		}
	}
}

func TestSplitterRestartsOnReset(t *testing.T) {
	p := Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 64 << 10, AvgBits: 17, MaxSize: 1 << 20}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3<<20)
	rand.Read(data)
	s := NewSplitter(p)
	s.Reset(bytes.NewReader(data))
	var total int
	buf := make([]byte, 0, p.MaxSize)
	for {
		c, err := s.Next(buf)
		if err != nil {
			break
		}
		if len(c) < int(p.MinSize) && total+len(c) != len(data) || len(c) > int(p.MaxSize) {
			t.Fatalf("chunk of %d bytes outside the limits", len(c))
		}
		total += len(c)
	}
	if total != len(data) {
		t.Fatalf("chunks cover %d of %d bytes", total, len(data))
	}
	bad := p
	bad.MaxSize = 10
	if bad.Validate() == nil {
		t.Fatal("max below min accepted")
	}
}

// TestCompressProbe: a large chunk whose samples do not compress is stored
// raw at once, and a chunk that compresses anywhere in its samples is not.
func TestCompressProbe(t *testing.T) {
	noise := make([]byte, 256<<10)
	rand.Read(noise)
	if _, c := Compress(nil, noise); c != Raw {
		t.Fatalf("random chunk stored as %v", c)
	}
	half := append([]byte(nil), noise...)
	copy(half[len(half)/2:], bytes.Repeat([]byte("log line "), len(half)/18))
	stored, c := Compress(nil, half)
	if c != Zstd || len(stored) >= len(half)*3/4 {
		t.Fatalf("half-text chunk: %v, %d of %d bytes", c, len(stored), len(half))
	}
	out, err := Decompress(nil, stored, c, len(half))
	if err != nil || !bytes.Equal(out, half) {
		t.Fatal("round trip")
	}
}

func TestKeyedHasher(t *testing.T) {
	data := []byte("the same chunk on two hosts")
	var zero Hasher
	if zero.Sum(data) != Sum(data) || zero.Keyed() {
		t.Fatal("the zero Hasher is not plain BLAKE3")
	}
	a, b := KeyedHasher([IDSize]byte{1}), KeyedHasher([IDSize]byte{2})
	if a.Sum(data) == Sum(data) || a.Sum(data) == b.Sum(data) || !a.Keyed() {
		t.Fatal("keyed IDs equal the plain ID or another key's")
	}
	if a.Sum(data) != KeyedHasher([IDSize]byte{1}).Sum(data) {
		t.Fatal("keyed IDs are not deterministic")
	}
}
