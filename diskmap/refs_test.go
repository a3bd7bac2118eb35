package diskmap

import (
	"bytes"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/shadowvault/shadowvault/chunk"
)

// randomMap is a map of n extents and a recipe of about n/10 pieces.
func randomMap(rnd *mrand.Rand, n int) *Map {
	m := &Map{}
	for i := 0; i < n; i++ {
		e := Extent{Offset: m.VirtualSize, Length: 1 + rnd.Int64N(1<<20), Kind: ExtentKind(1 + rnd.IntN(3))}
		if e.Kind == ExtentData {
			e.ID = chunk.Sum([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(rnd.Uint32())})
		}
		m.Extents = append(m.Extents, e)
		m.VirtualSize += e.Length
	}
	for i := 0; i < n/10+1; i++ {
		p := Piece{Kind: PieceKind(1 + rnd.IntN(3)), Length: 1 + rnd.Int64N(1<<16)}
		switch p.Kind {
		case PieceData:
			p.ID = chunk.Sum([]byte{'p', byte(i), byte(rnd.Uint32())})
		case PieceVirtual:
			p.Length = min(p.Length, max(m.VirtualSize, 1))
			p.VOffset = rnd.Int64N(m.VirtualSize - p.Length + 1)
		}
		m.Recipe = append(m.Recipe, p)
	}
	return m
}

func refsOf(m *Map) []chunk.ID {
	var out []chunk.ID
	m.Chunks(func(id chunk.ID) { out = append(out, id) })
	return out
}

// ScanRefs sees the references Chunks sees, in the same order, reading
// the object in pieces of any size, and returns the object's name.
func TestScanRefsMatchesDecode(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 17, 5000, 100_000} {
		m := randomMap(rnd, n)
		data, name := m.Encode()
		for i, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
			if n == 100_000 && i > 0 {
				continue // one byte at a time is slow
			}
			var got []chunk.ID
			sum, err := ScanRefs(r, func(id chunk.ID) { got = append(got, id) })
			if err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			if sum != name {
				t.Fatalf("n=%d: name %s, want %s", n, sum.Short(), name.Short())
			}
			want := refsOf(m)
			if len(got) != len(want) {
				t.Fatalf("n=%d: %d references, want %d", n, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n=%d: reference %d is %s, want %s", n, i, got[i].Short(), want[i].Short())
				}
			}
		}
	}
}

// Every object Decode refuses, ScanRefs refuses (ErrCorrupt), and every
// one it accepts, ScanRefs accepts: flipped bytes, cut objects, bytes
// added, and a body whose checksum is right but which does not parse.
func TestScanRefsRefusesWhatDecodeRefuses(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(5, 6))
	m := randomMap(rnd, 40)
	data, _ := m.Encode()
	var bad [][]byte
	for i := 0; i < len(data); i++ {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(data)
			b[i] ^= x
			bad = append(bad, b)
		}
	}
	for n := 0; n < len(data); n++ {
		bad = append(bad, data[:n])
	}
	bad = append(bad, append(bytes.Clone(data), 0))
	// Bodies with a right checksum: extents that do not add up, a bad
	// kind, a virtual piece past the end, counts too large.
	body := func(b []byte) []byte { s := chunk.Sum(b); return append(b, s[:]...) }
	head := []byte{'S', 'V', 'D', 'M', 1, 0}
	bad = append(bad,
		body(append(bytes.Clone(head), 10, 1, 0, byte(ExtentZero), 9)),
		body(append(bytes.Clone(head), 10, 1, 0, 9, 10)),
		body(append(bytes.Clone(head), 10, 1, 1, byte(ExtentZero), 10, byte(PieceVirtual), 5, 6)),
		body(append(bytes.Clone(head), 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0)),
		body(append(bytes.Clone(head), 0, 0, 0, 0)),
	)
	for i, b := range bad {
		_, decErr := Decode(b)
		_, scanErr := ScanRefs(bytes.NewReader(b), func(chunk.ID) {})
		if (decErr == nil) != (scanErr == nil) {
			t.Fatalf("case %d (%d bytes): Decode says %v, ScanRefs %v", i, len(b), decErr, scanErr)
		}
		if scanErr != nil && !errors.Is(scanErr, ErrCorrupt) {
			t.Fatalf("case %d: %v is not ErrCorrupt", i, scanErr)
		}
	}
}

// A read error is returned as it is, not as a corrupt map.
func TestScanRefsReadError(t *testing.T) {
	data, _ := randomMap(mrand.New(mrand.NewPCG(7, 8)), 100).Encode()
	boom := errors.New("boom")
	_, err := ScanRefs(io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(boom)), func(chunk.ID) {})
	if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
}
