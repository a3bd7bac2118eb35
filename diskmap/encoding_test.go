package diskmap

import (
	"bytes"
	"errors"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
)

func sampleMap() *Map {
	a, b := chunk.Sum([]byte("a")), chunk.Sum([]byte("b"))
	return &Map{
		VirtualSize: 3 << 20,
		Extents: []Extent{
			{Offset: 0, Length: 1 << 20, Kind: ExtentData, ID: a},
			{Offset: 1 << 20, Length: 1 << 20, Kind: ExtentZero},
			{Offset: 2 << 20, Length: 1 << 20, Kind: ExtentParent},
		},
		Recipe: []Piece{
			{Length: 512, Kind: PieceData, ID: b},
			{Length: 4096, Kind: PieceZero},
			{Length: 3 << 20, Kind: PieceVirtual, VOffset: 0},
		},
	}
}

func TestEncodeDecode(t *testing.T) {
	m := sampleMap()
	data, id := m.Encode()
	if id != chunk.Sum(data) || string(data[:4]) != "SVDM" {
		t.Fatalf("object %x... named %s", data[:6], id.Short())
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := got.Encode()
	if !bytes.Equal(again, data) {
		t.Fatal("decode and encode do not give the same bytes")
	}
	if got.RecipeSize() != 512+4096+3<<20 {
		t.Fatalf("recipe size %d", got.RecipeSize())
	}
	var n int
	got.Chunks(func(chunk.ID) { n++ })
	if n != 2 {
		t.Fatalf("%d chunk references, want 2", n)
	}
}

// TestDecodeVersion1Bytes pins the version 1 encoding: a map written by an
// earlier build must decode the same forever.
func TestDecodeVersion1Bytes(t *testing.T) {
	m := &Map{VirtualSize: 1024, Extents: []Extent{{Offset: 0, Length: 1024, Kind: ExtentZero}},
		Recipe: []Piece{{Length: 1024, Kind: PieceVirtual}}}
	data, _ := m.Encode()
	want := []byte{'S', 'V', 'D', 'M', 1, 0, 0x80, 0x08, 1, 1, 2, 0x80, 0x08, 3, 0x80, 0x08, 0}
	if !bytes.Equal(data[:len(data)-chunk.IDSize], want) {
		t.Fatalf("version 1 body % x, want % x", data[:len(data)-chunk.IDSize], want)
	}
}

func TestDecodeRejects(t *testing.T) {
	data, _ := sampleMap().Encode()
	bad := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XXDM"), data[4:]...),
		"truncated": data[:len(data)-1],
	}
	flipped := bytes.Clone(data)
	flipped[10] ^= 1
	bad["flipped byte"] = flipped
	v2 := bytes.Clone(data)
	v2[4] = 2
	sum := chunk.Sum(v2[:len(v2)-chunk.IDSize])
	copy(v2[len(v2)-chunk.IDSize:], sum[:])
	bad["unknown version"] = v2
	for name, b := range bad {
		if _, err := Decode(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestFormatJSON: format names round-trip, and a name this build does not
// know never makes a manifest unreadable.
func TestFormatJSON(t *testing.T) {
	for _, f := range []Format{FormatRaw, FormatVHD, FormatVHDX} {
		b, _ := f.MarshalText()
		var g Format
		if err := g.UnmarshalText(b); err != nil || g != f {
			t.Fatalf("%v: %q reads as %v, %v", f, b, g, err)
		}
	}
	var g Format
	if err := g.UnmarshalText([]byte("qcow3")); err != nil || g != 0 {
		t.Fatalf("unknown name: %v, %v", g, err)
	}
	if b, _ := Format(0).MarshalText(); len(b) != 0 {
		t.Fatalf("format 0 writes %q", b)
	}
}
