package clustere2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// TestClusterObjectLock runs two nodes on a bucket with S3 Object Lock
// (governance, 2 s): the lease's conditional writes work on a versioned
// bucket, a prune on the node that did not store the data keeps what a
// kept snapshot needs, and a later prune purges what the locks released.
func TestClusterObjectLock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for locks to pass")
	}
	ctx := context.Background()
	c := newClusterLocked(t, 2, 256<<10, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: time.Second},
		false, nil, backend.LockPolicy{Mode: backend.LockGovernance, Period: 2 * time.Second})
	keep := random(130, 2<<20)
	rc, err := c.nodes[0].backup(ctx, "vm-keep", keep)
	if err != nil {
		t.Fatal(err)
	}
	withGarbage(t, c)
	first, err := c.nodes[1].Repo.RunPrune(ctx, repo.PruneOptions{Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	second, err := c.nodes[1].Repo.RunPrune(ctx, repo.PruneOptions{Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prunes on n2: %d packs deleted, %d bytes purged, %d locked; then %d bytes purged, %d locked",
		first.PacksDeleted, first.BytesPurged, first.BytesLocked, second.BytesPurged, second.BytesLocked)
	if first.PacksDeleted == 0 || first.BytesPurged+second.BytesPurged == 0 {
		t.Errorf("nothing deleted or purged")
	}
	c.syncAll()
	for _, n := range c.nodes {
		got, err := n.restore(ctx, rc.Snapshot)
		if err != nil || !bytes.Equal(got, keep) {
			t.Fatalf("restore from %s: %v", n.name, err)
		}
		if res, err := n.Repo.RunCheck(ctx, repo.CheckOptions{ReadDataPercent: 100}); err != nil || !res.OK {
			t.Fatalf("check on %s: %v %v", n.name, err, res.Problems)
		}
	}
}
