package index

import (
	"fmt"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// TestReplaceManyChunks: a rebuild's catalogue of many packs, chunks in
// random order and some in two packs, is indexed whole, the first pack
// holding a chunk wins, and it takes time linear in the chunks (a single
// transaction of random inserts was quadratic: 13 minutes for 1M chunks).
func TestReplaceManyChunks(t *testing.T) {
	x := open(t)
	const packs, per = 200, 500
	var c Catalogue
	for p := 0; p < packs; p++ {
		np := NewPack{Info: PackInfo{ID: chunk.Sum([]byte(fmt.Sprint("pack", p))), Size: 1, Count: per}}
		for i := 0; i < per; i++ {
			n := p*per + i
			if p%10 == 9 && i < 50 { // also in pack p-1
				n = (p-1)*per + i
			}
			np.Entries = append(np.Entries, Entry{ID: chunk.Sum([]byte(fmt.Sprint("chunk", n))), Offset: uint64(i), Length: 1, RawLength: 1})
		}
		c.Packs = append(c.Packs, np)
	}
	start := time.Now()
	if err := x.Replace(c); err != nil {
		t.Fatal(err)
	}
	t.Logf("replace of %d entries: %v", packs*per, time.Since(start))
	chunks, npacks, _, err := x.Counts()
	if err != nil || npacks != packs || chunks != packs*per-packs/10*50 {
		t.Fatalf("counts: %d chunks, %d packs, %v", chunks, npacks, err)
	}
	for p := 8; p < packs; p += 10 {
		id := chunk.Sum([]byte(fmt.Sprint("chunk", p*per+3)))
		loc, ok, err := x.Lookup(id)
		if err != nil || !ok || loc.Pack != c.Packs[p].Info.ID {
			t.Fatalf("a chunk in packs %d and %d is indexed in %s, want the first", p, p+1, loc.Pack.Short())
		}
	}
}
