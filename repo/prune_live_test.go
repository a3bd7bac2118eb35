package repo_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
)

// TestPruneKeepsSmallLivePacks backs up disks whose packs are tiny (a
// single repeated-byte chunk: its pack is mostly trailer and footer) and
// prunes with nothing forgotten: nothing a restore or check sees may change.
func TestPruneKeepsSmallLivePacks(t *testing.T) {
	e := newPruneEnv(t)
	one := bytes.Repeat([]byte{0xA5}, 64<<10)
	small := randomBytes(9, 70<<10)
	snaps := map[string][]byte{
		e.store(t, "VMONE", one):     one,
		e.store(t, "VMSMALL", small): small,
	}
	for round := 0; round < 3; round++ {
		e.clock.advance(2 * time.Hour)
		res, err := e.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.PacksDeleted != 0 || res.PacksRewritten != 0 {
			t.Errorf("round %d: nothing forgotten, but prune reported %+v", round, res)
		}
		e.mustCheckData(t)
		for id, want := range snaps {
			if got := e.restoreRaw(t, id); !bytes.Equal(got, want) {
				t.Fatalf("round %d: snapshot %s restores differently", round, id)
			}
		}
	}
}

// TestPruneIdenticalRewriteKeepsPack forces a repack of a pack whose live
// chunks are all of it: the rewrite has the same name as the original,
// which must stay.
func TestPruneIdenticalRewriteKeepsPack(t *testing.T) {
	e := newPruneEnv(t)
	data := bytes.Repeat([]byte{0x5A}, 64<<10) // one chunk: its pack rewrites to the same bytes
	id := e.store(t, "VMX", data)
	e.clock.advance(2 * time.Hour)
	// RepackBelow above 1 makes every pack a candidate for rewriting.
	if _, err := e.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Nanosecond, RepackBelow: 1.5}); err != nil {
		t.Fatal(err)
	}
	e.mustCheckData(t)
	if got := e.restoreRaw(t, id); !bytes.Equal(got, data) {
		t.Fatal("restore differs after a prune that rewrote a fully live pack")
	}
}

func (e *pruneEnv) mustCheckData(t *testing.T) {
	t.Helper()
	e.mustCheck(t)
	res, err := e.Repo.RunCheck(context.Background(), repo.CheckOptions{ReadDataPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("check --read-data 100%%: %+v", res)
	}
}
