package clustere2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

// TestClusterPruneSparesInflightDedup is the prune rule's hard case: node
// n2 deduplicates a backup against a pack only a forgotten snapshot used,
// and node n1 prunes that pack before n2's complete. The complete must not
// commit a snapshot whose data is gone: it fails, and the retry stores the
// data again and restores on both nodes.
func TestClusterPruneSparesInflightDedup(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 2, 256<<10, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: time.Second})
	disk := random(80, 2<<20)
	old, err := c.nodes[0].backup(ctx, "vm-old", disk)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[0].Repo.ForgetSnapshot(ctx, old.Snapshot); err != nil {
		t.Fatal(err)
	}
	c.syncAll()

	// n2 receives the same content: every chunk is found in its cache.
	cl := c.nodes[1].client()
	id, err := cl.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "vm-new", BackupType: "copy", Consistency: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	before := stored(t, c.nodes[0].be).packs
	if _, err := cl.PutDisk(ctx, id, "disk0.raw", bytes.NewReader(disk), int64(len(disk)), "raw"); err != nil {
		t.Fatal(err)
	}
	if after := stored(t, c.nodes[0].be).packs; after != before {
		t.Fatalf("n2 stored %d packs of content n1 stored: no dedup across nodes", after-before)
	}
	// n1 prunes the forgotten snapshot's packs meanwhile.
	res, err := c.nodes[0].Repo.RunPrune(ctx, repo.PruneOptions{Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksDeleted == 0 {
		t.Fatal("the prune deleted nothing: the test proves nothing")
	}
	if rc, err := cl.Complete(ctx, id); err == nil {
		t.Fatalf("n2 completed snapshot %s over data a prune deleted", rc.Snapshot)
	} else {
		t.Logf("the complete on n2 was refused: %v", err)
	}
	// The agent aborts the failed session, and its retry stores the data
	// again.
	if err := cl.Abort(ctx, id); err != nil {
		t.Fatal(err)
	}
	var rc *apiv1.Receipt
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if rc, err = c.nodes[1].backup(ctx, "vm-new", disk); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retry on n2 still fails: %v", err)
		}
		sessions := c.nodes[1].Repo.Sessions()
		for _, s := range sessions {
			_ = cl.Abort(ctx, s.ID)
		}
	}
	c.syncAll()
	for _, n := range c.nodes {
		got, err := n.restore(ctx, rc.Snapshot)
		if err != nil || !bytes.Equal(got, disk) {
			t.Fatalf("restore of the retried backup from %s: %v", n.name, err)
		}
	}
}
