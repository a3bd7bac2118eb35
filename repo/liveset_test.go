package repo

import (
	"bytes"
	"encoding/binary"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
)

// randomIDs returns n chunk IDs, some of them sharing their first 8 bytes.
func randomIDs(rnd *mrand.Rand, n int) []chunk.ID {
	ids := make([]chunk.ID, n)
	for i := range ids {
		binary.LittleEndian.PutUint64(ids[i][:], rnd.Uint64())
		binary.LittleEndian.PutUint64(ids[i][8:], rnd.Uint64())
		if i > 0 && rnd.IntN(10) == 0 {
			copy(ids[i][:8], ids[rnd.IntN(i)][:8]) // a prefix collision
		}
	}
	return ids
}

// The live set answers as a map of ID prefixes does, added in any order,
// with duplicates, over many merges; in ascending order (a cursor) and in
// any order.
func TestLiveSetIsASetOfPrefixes(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 1000, 300_000} {
		ids := randomIDs(rnd, n)
		want := map[uint64]bool{}
		var b liveSetBuilder
		for i, id := range ids {
			if i%3 == 0 {
				continue // not live
			}
			for k := 0; k < 1+i%2; k++ { // some twice
				b.add(id)
			}
			want[prefix(id)] = true
		}
		if i := len(ids) / 2; n > 0 {
			b.addPrefix(prefix(ids[i])) // an in-flight reference
			want[prefix(ids[i])] = true
		}
		s := b.finish()
		if s.len() != len(want) {
			t.Fatalf("n=%d: %d keys, want %d", n, s.len(), len(want))
		}
		probe := append(randomIDs(rnd, 1000), ids...)
		for _, id := range probe {
			if s.has(id) != want[prefix(id)] {
				t.Fatalf("n=%d: has(%s) = %v", n, id.Short(), s.has(id))
			}
		}
		slices.SortFunc(probe, func(a, b chunk.ID) int { return bytes.Compare(a[:], b[:]) })
		c := s.cursor()
		for _, id := range probe {
			if c.has(id) != want[prefix(id)] {
				t.Fatalf("n=%d: cursor has(%s) = %v", n, id.Short(), c.has(id))
			}
		}
		// A cursor asked out of order still answers right.
		c = s.cursor()
		for i := len(probe) - 1; i >= 0; i -= 7 {
			if c.has(probe[i]) != want[prefix(probe[i])] {
				t.Fatalf("n=%d: cursor out of order has(%s) = %v", n, probe[i].Short(), c.has(probe[i]))
			}
		}
	}
}
