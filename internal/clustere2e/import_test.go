package clustere2e

import (
	"context"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
)

// TestClusterImportSparesDoomedPacks is the prune rule for a copy (a sync
// into a cluster node): while a prune on n1 announces the packs it
// deletes, n2's import does not count their chunks as present, and a copy
// that counted on them before the announcement is not committed after the
// packs are gone.
func TestClusterImportSparesDoomedPacks(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 2, 256<<10, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: 3 * time.Second})
	n1, n2 := c.nodes[0], c.nodes[1]
	old, err := n1.backup(ctx, "vm-old", random(82, 2<<20))
	if err != nil {
		t.Fatal(err)
	}
	m, err := n1.Repo.Snapshot(old.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := n1.Repo.LoadDiskMap(ctx, m.Disks[0].DiskMap)
	if err != nil {
		t.Fatal(err)
	}
	var ids []chunk.ID
	dm.Chunks(func(id chunk.ID) { ids = append(ids, id) })
	if err := n1.Repo.ForgetSnapshot(ctx, old.Snapshot); err != nil {
		t.Fatal(err)
	}
	c.syncAll()

	// The copy finds every chunk on n2 and counts on them.
	im, err := n2.Repo.BeginImport("a-source-repository")
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	present := func() int {
		n := 0
		if err := im.Lookup(ids, true, func(_ int, dst chunk.ID, ok bool) {
			if ok {
				n++
				im.Ref(dst)
			}
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := present(); n != len(ids) {
		t.Fatalf("n2 has %d of the %d chunks: the test proves nothing", n, len(ids))
	}

	// n1 prunes them; n2 sees the announcement while it lasts.
	pruned := make(chan error, 1)
	go func() {
		res, err := n1.Repo.RunPrune(ctx, repo.PruneOptions{Grace: time.Millisecond})
		if err == nil && res.PacksDeleted == 0 {
			err = errNothingPruned
		}
		pruned <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); !hasDoom(n1.be); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no doom record within 10 s")
		}
	}
	if err := n2.Repo.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := present(); n != 0 {
		t.Errorf("during the prune's announcement, n2's import counts %d chunks of doomed packs as present", n)
	}
	if err := <-pruned; err != nil {
		t.Fatal(err)
	}
	m2 := *m
	if err := im.Commit(ctx, &m2, []*diskmap.Map{dm}, nil, false); err == nil {
		t.Fatalf("n2 committed copy %s over packs a prune deleted", m2.ID)
	} else {
		t.Logf("the copy's commit on n2 was refused: %v", err)
	}
	if _, err := n2.Repo.Snapshot(m2.ID); err == nil {
		t.Fatal("n2 lists the refused copy")
	}
}

var errNothingPruned = errorString("the prune deleted nothing: the test proves nothing")

type errorString string

func (e errorString) Error() string { return string(e) }
