package index

import (
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// TestReplicaMap: aliases committed with their pack are found; an alias
// of a chunk that is not indexed is never recorded; an alias whose chunk
// a prune removed is not found; maps of two sources stay apart; the
// record of copied snapshots.
func TestReplicaMap(t *testing.T) {
	x := open(t)
	now := time.Unix(1700000000, 0)
	e := entries("dst", 3)
	src := []chunk.ID{chunk.Sum([]byte("s0")), chunk.Sum([]byte("s1")), chunk.Sum([]byte("s2"))}
	pack := chunk.Sum([]byte("pack"))
	as := []Alias{{Source: "A", Src: src[0], Dst: e[0].ID}, {Source: "A", Src: src[1], Dst: e[1].ID}}
	if err := x.AddPackAliased(pack, 300, e[:2], as, now); err != nil {
		t.Fatal(err)
	}
	// e[2] is not indexed: its alias is dropped.
	if err := x.PutAliases([]Alias{{Source: "A", Src: src[2], Dst: e[2].ID}, {Source: "B", Src: src[0], Dst: e[1].ID}}); err != nil {
		t.Fatal(err)
	}
	lookup := func(source string) []bool {
		got := make([]bool, len(src))
		err := x.ReplicaLookup(source, src, func(i int, dst chunk.ID, ok bool) {
			got[i] = ok
			if ok && source == "A" && dst != e[i].ID {
				t.Errorf("source A chunk %d: %s, want %s", i, dst.Short(), e[i].ID.Short())
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := lookup("A"); !got[0] || !got[1] || got[2] {
		t.Fatalf("source A: %v, want [true true false]", got)
	}
	if got := lookup("B"); !got[0] || got[1] || got[2] {
		t.Fatalf("source B: %v, want [true false false]", got)
	}
	if n, _ := x.ReplicaCount("A"); n != 2 {
		t.Fatalf("source A has %d entries, want 2", n)
	}
	// A prune removes the pack: the entries stay but name nothing.
	if _, err := x.ApplyRewrite(Rewrite{Remove: []chunk.ID{pack}}); err != nil {
		t.Fatal(err)
	}
	if got := lookup("A"); got[0] || got[1] {
		t.Fatalf("after the prune source A finds %v", got)
	}

	if ok, err := x.ReplicaSnapshotCopied("A", "s1"); err != nil || ok {
		t.Fatalf("copied before any record: %v %v", ok, err)
	}
	if err := x.PutReplicaSnapshot("A", "s1", now); err != nil {
		t.Fatal(err)
	}
	if ok, _ := x.ReplicaSnapshotCopied("A", "s1"); !ok {
		t.Fatal("the copy was not recorded")
	}
	if ok, _ := x.ReplicaSnapshotCopied("B", "s1"); ok {
		t.Fatal("a copy from A counts for B")
	}
}
