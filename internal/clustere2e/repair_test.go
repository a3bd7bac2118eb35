package clustere2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
)

// TestClusterRepairAndCheck rebuilds one node's index from the bucket
// while the other node stores a backup, and checks both: the rebuilt node
// lists and restores every snapshot, and a check right after the other
// node's backup finds nothing wrong (it refreshes first).
func TestClusterRepairAndCheck(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 2, 256<<10, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: time.Second})
	disks := map[string][]byte{}
	for i, vm := range []string{"vm-a", "vm-b"} {
		disks[vm] = random(uint64(120+i), 2<<20)
	}
	snaps := map[string]string{}
	rc, err := c.nodes[0].backup(ctx, "vm-a", disks["vm-a"])
	if err != nil {
		t.Fatal(err)
	}
	snaps[rc.Snapshot] = "vm-a"
	c.syncAll()
	if _, err := c.nodes[1].Repo.RebuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err = c.nodes[0].backup(ctx, "vm-b", disks["vm-b"])
	if err != nil {
		t.Fatal(err)
	}
	snaps[rc.Snapshot] = "vm-b"
	for _, n := range c.nodes {
		res, err := n.Repo.RunCheck(ctx, repo.CheckOptions{ReadDataPercent: 100})
		if err != nil || !res.OK {
			t.Fatalf("check on %s: %v %v", n.name, err, res.Problems)
		}
		for snap, vm := range snaps {
			got, err := n.restore(ctx, snap)
			if err != nil || !bytes.Equal(got, disks[vm]) {
				t.Fatalf("restore %s from %s: %v", vm, n.name, err)
			}
		}
	}
}
