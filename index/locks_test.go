package index

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// The lock cache keeps the later of two dates, and a key never set is
// absent.
func TestLockedUntilKeepsTheLaterDate(t *testing.T) {
	x, err := Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	t0 := time.Unix(1_800_000_000, 0).UTC()
	if err := x.SetLockedUntil(map[string]time.Time{"packs/a": t0.Add(time.Hour), "packs/b": t0}); err != nil {
		t.Fatal(err)
	}
	if err := x.SetLockedUntil(map[string]time.Time{"packs/a": t0, "packs/b": t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := x.LockedUntil([]string{"packs/a", "packs/b", "packs/c"})
	if err != nil {
		t.Fatal(err)
	}
	if !got["packs/a"].Equal(t0.Add(time.Hour)) || !got["packs/b"].Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("dates %v, want a +1h and b +2h", got)
	}
	if _, ok := got["packs/c"]; ok {
		t.Fatal("a key never set has a date")
	}
}

// PacksOf names the packs of the chunks reported, once each, and skips
// chunks that are not indexed.
func TestPacksOf(t *testing.T) {
	x, err := Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	p1, p2 := chunk.Sum([]byte("pack 1")), chunk.Sum([]byte("pack 2"))
	c := func(s string) chunk.ID { return chunk.Sum([]byte(s)) }
	if err := x.AddPack(p1, 100, []Entry{{ID: c("a"), Length: 10, RawLength: 10}, {ID: c("b"), Offset: 10, Length: 10, RawLength: 10}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := x.AddPack(p2, 100, []Entry{{ID: c("c"), Length: 10, RawLength: 10}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	packs, err := x.PacksOf(func(report func(chunk.ID)) {
		for _, s := range []string{"a", "b", "a", "unknown"} {
			report(c(s))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := packs[p1]; !ok || len(packs) != 1 {
		t.Fatalf("packs %v, want only pack 1", packs)
	}
}
