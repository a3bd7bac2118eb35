package index

import (
	"errors"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

func TestRewriteOfIdenticalPackKeepsIt(t *testing.T) {
	x := open(t)
	p := chunk.Sum([]byte("p"))
	e := entries("same", 2)
	now := time.Unix(1700000000, 0)
	if err := x.AddPack(p, 300, e, now); err != nil {
		t.Fatal(err)
	}
	n, err := x.ApplyRewrite(Rewrite{Remove: []chunk.ID{p}, Add: []NewPack{{Info: PackInfo{ID: p, Size: 300, Count: 2, Created: now}, Entries: e}}})
	if err != nil || n != 0 {
		t.Fatalf("removed %d chunks (%v), want 0", n, err)
	}
	var found bool
	_ = x.Packs(func(pi PackInfo) error { found = found || pi.ID == p; return nil })
	if !found {
		t.Fatal("the pack record of a pack rewritten to itself is gone")
	}
	for _, en := range e {
		if loc, ok, _ := x.Lookup(en.ID); !ok || loc.Pack != p {
			t.Fatalf("chunk %s: %+v %v", en.ID.Short(), loc, ok)
		}
	}
}

func TestForgetIsPendingUntilEnded(t *testing.T) {
	x := open(t)
	if err := x.PutSnapshot("s1", "sess1", []byte(`{"id":"s1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := x.BeginForget("s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Snapshot("s1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("snapshot still listed after BeginForget: %v", err)
	}
	if _, err := x.SessionSnapshot("sess1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session mapping kept: %v", err)
	}
	if p, _ := x.PendingForgets(); !p["s1"] {
		t.Fatalf("pending forgets %v", p)
	}
	if err := x.BeginForget("s1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second BeginForget: %v", err)
	}
	if err := x.Reset(); err != nil {
		t.Fatal(err)
	}
	if p, _ := x.PendingForgets(); !p["s1"] {
		t.Fatal("a reset dropped a pending forget")
	}
	if err := x.EndForget("s1"); err != nil {
		t.Fatal(err)
	}
	if p, _ := x.PendingForgets(); len(p) != 0 {
		t.Fatalf("pending forgets %v", p)
	}
}

func TestReplaceSwapsEverything(t *testing.T) {
	x := open(t)
	now := time.Unix(1700000000, 0)
	old := chunk.Sum([]byte("old"))
	if err := x.AddPack(old, 100, entries("old", 1), now); err != nil {
		t.Fatal(err)
	}
	_ = x.PutSnapshot("gone", "g", []byte(`{}`))
	_ = x.SetProtected("gone", true)
	_ = x.PutToken("tok", []byte(`{}`))
	np := chunk.Sum([]byte("new"))
	err := x.Replace(Catalogue{
		Packs:     []NewPack{{Info: PackInfo{ID: np, Size: 200, Count: 2, Created: now}, Entries: entries("new", 2)}},
		Snapshots: []SnapshotRecord{{ID: "s2", Session: "sess2", Record: []byte(`{"id":"s2"}`)}},
		Protected: map[string]bool{"s2": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	chunks, packs, _, _ := x.Counts()
	if chunks != 2 || packs != 1 {
		t.Fatalf("counts %d chunks %d packs", chunks, packs)
	}
	if _, err := x.Snapshot("gone"); !errors.Is(err, ErrNotFound) {
		t.Fatal("old snapshot survived Replace")
	}
	if id, err := x.SessionSnapshot("sess2"); err != nil || id != "s2" {
		t.Fatalf("session mapping %q %v", id, err)
	}
	if p, _ := x.Protected(); !p["s2"] || p["gone"] {
		t.Fatalf("protected %v", p)
	}
	n := 0
	_ = x.Tokens(func(string, []byte) error { n++; return nil })
	if n != 1 {
		t.Fatal("Replace dropped tokens")
	}
}
