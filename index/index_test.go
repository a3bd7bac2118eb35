package index

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

func open(t *testing.T) *Index {
	x, err := Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func entries(pfx string, n int) []Entry {
	var out []Entry
	for i := 0; i < n; i++ {
		out = append(out, Entry{ID: chunk.Sum([]byte(pfx + string(rune('a'+i)))), Offset: uint64(i * 100), Length: 100, RawLength: 200, Compression: chunk.Zstd})
	}
	return out
}

func TestPacksAndRewrite(t *testing.T) {
	x := open(t)
	p1, p2, p3 := chunk.Sum([]byte("p1")), chunk.Sum([]byte("p2")), chunk.Sum([]byte("p3"))
	e1, e2 := entries("one", 5), entries("two", 3)
	now := time.Unix(1700000000, 0)
	if err := x.AddPack(p1, 1000, e1, now); err != nil {
		t.Fatal(err)
	}
	if err := x.AddPack(p2, 600, append(e2, e1[0]), now); err != nil {
		t.Fatal(err)
	}
	loc, ok, err := x.Lookup(e1[0].ID)
	if err != nil || !ok || loc.Pack != p1 || loc.Entry != e1[0] {
		t.Fatalf("a chunk in two packs keeps its first location: %+v %v %v", loc, ok, err)
	}
	chunks, packs, bytes, _ := x.Counts()
	if chunks != 8 || packs != 2 || bytes != 1600 {
		t.Fatalf("counts %d %d %d", chunks, packs, bytes)
	}
	// Drop p1, moving two of its chunks into p3.
	moved := []Entry{e1[1], e1[2]}
	moved[0].Offset, moved[1].Offset = 0, 100
	n, err := x.ApplyRewrite(Rewrite{Remove: []chunk.ID{p1}, Add: []NewPack{{Info: PackInfo{ID: p3, Size: 300, Count: 2, Created: now}, Entries: moved}}})
	if err != nil || n != 3 {
		t.Fatalf("removed %d chunks (%v), want 3", n, err)
	}
	if loc, ok, _ := x.Lookup(e1[1].ID); !ok || loc.Pack != p3 || loc.Entry.Offset != 0 {
		t.Fatalf("moved chunk: %+v %v", loc, ok)
	}
	if ok, _ := x.Has(e1[3].ID); ok {
		t.Fatal("a chunk of the removed pack is still indexed")
	}
	if ok, _ := x.Has(e1[0].ID); ok {
		t.Fatal("the chunk indexed in the removed pack stays indexed (its copy in p2 was never its location)")
	}
	var created time.Time
	x.Packs(func(p PackInfo) error {
		if p.ID == p3 {
			created = p.Created
		}
		if p.ID == p1 {
			t.Error("removed pack still listed")
		}
		return nil
	})
	if !created.Equal(now) {
		t.Fatalf("pack created %v, want %v", created, now)
	}
}

func TestCatalogue(t *testing.T) {
	x := open(t)
	if err := x.PutSnapshot("s1", "sess1", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if id, err := x.SessionSnapshot("sess1"); err != nil || id != "s1" {
		t.Fatalf("session -> %q %v", id, err)
	}
	x.SetProtected("s1", true)
	if p, _ := x.Protected(); !p["s1"] {
		t.Fatal("protection lost")
	}
	x.SetProtected("s1", false)
	if p, _ := x.Protected(); p["s1"] {
		t.Fatal("protection not lifted")
	}
	if err := x.DeleteSnapshot("s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.SessionSnapshot("sess1"); err == nil {
		t.Fatal("session mapping survived its snapshot")
	}
	orph := map[string]time.Time{"abc": time.Unix(100, 0)}
	x.SetOrphans(orph)
	got, _ := x.Orphans()
	if !got["abc"].Equal(orph["abc"]) || len(got) != 1 {
		t.Fatalf("orphans %v", got)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	x, _ := Open(path)
	x.AddPack(chunk.Sum([]byte("p")), 10, entries("x", 2), time.Now())
	x.Close()
	y, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if n, _, _, _ := y.Counts(); n != 2 {
		t.Fatalf("%d chunks after reopen", n)
	}
}

func TestAddPacksBatch(t *testing.T) {
	x := open(t)
	var batch []NewPack
	for i := 0; i < 10; i++ {
		id := chunk.Sum([]byte{byte(i)})
		batch = append(batch, NewPack{Info: PackInfo{ID: id, Size: 100, Count: 3, Created: time.Unix(5, 0)}, Entries: entries(string(rune('A'+i)), 3)})
	}
	if err := x.AddPacks(batch); err != nil {
		t.Fatal(err)
	}
	chunks, packs, bytes, _ := x.Counts()
	if chunks != 30 || packs != 10 || bytes != 1000 {
		t.Fatalf("counts %d %d %d", chunks, packs, bytes)
	}
	loc, ok, _ := x.Lookup(batch[7].Entries[2].ID)
	if !ok || loc.Pack != batch[7].Info.ID {
		t.Fatalf("lookup %+v %v", loc, ok)
	}
}
