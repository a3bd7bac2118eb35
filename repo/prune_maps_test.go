package repo_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// A prune that cannot read a listed snapshot's disk map whole and right
// (missing, cut, damaged, another map under its name) fails, and deletes
// no pack, although it reads the map in pieces and has seen some of its
// references (or others) by then.
func TestPruneStopsAtADamagedDiskMap(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(own, other []byte) []byte // nil: remove the map
	}{
		{"missing", nil},
		{"cut", func(own, _ []byte) []byte { return own[:len(own)/2] }},
		{"flipped", func(own, _ []byte) []byte { b := bytes.Clone(own); b[len(b)/2] ^= 1; return b }},
		{"another map", func(_, other []byte) []byte { return other }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newPruneEnv(t)
			ctx := context.Background()
			keep := e.store(t, "VMA", randomBytes(1, 3<<20))
			other := e.store(t, "VMB", randomBytes(2, 1<<20))
			if err := e.Repo.ForgetSnapshot(ctx, e.store(t, "VMC", randomBytes(3, 3<<20))); err != nil {
				t.Fatal(err)
			}
			mapOf := func(id string) backend.Handle {
				m, err := e.Repo.Snapshot(id)
				if err != nil {
					t.Fatal(err)
				}
				return backend.Handle{Type: backend.TypeDiskMap, Name: m.Disks[0].DiskMap.String()}
			}
			own, err := backend.ReadAll(ctx, e.Backend, mapOf(keep))
			if err != nil {
				t.Fatal(err)
			}
			otherMap, err := backend.ReadAll(ctx, e.Backend, mapOf(other))
			if err != nil {
				t.Fatal(err)
			}
			if c.damage == nil {
				err = e.Backend.Remove(ctx, mapOf(keep))
			} else {
				b := c.damage(own, otherMap)
				err = e.Backend.Put(ctx, mapOf(keep), bytes.NewReader(b), int64(len(b)))
			}
			if err != nil {
				t.Fatal(err)
			}
			packs := func() int {
				n := 0
				if err := e.Backend.List(ctx, backend.TypePack, func(backend.ObjectInfo) error { n++; return nil }); err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := packs()
			e.clock.advance(2 * time.Hour)
			if res, err := e.Repo.Prune(ctx, repo.PruneOptions{Grace: time.Nanosecond}); err == nil {
				t.Fatalf("prune with a damaged disk map of a listed snapshot succeeded: %+v", res)
			}
			if after := packs(); after != before {
				t.Fatalf("%d packs before the failed prune, %d after", before, after)
			}
		})
	}
}
