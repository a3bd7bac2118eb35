package clustere2e

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
)

// TestClusterJoinsSingleRepository turns a repository a single server
// filled into a cluster's: the old server, restarted with --node,
// publishes index objects for its packs; a new node then lists and
// restores the old snapshot, and its prune keeps the old data. A server
// started without --node is refused from then on.
func TestClusterJoinsSingleRepository(t *testing.T) {
	ctx := context.Background()
	c := newClusterOf(t, 1, 256<<10, repo.ClusterOptions{Refresh: 200 * time.Millisecond, Lease: 5 * time.Second, DoomDelay: time.Second}, true, nil)
	disk := random(110, 2<<20)
	rc, err := c.nodes[0].backup(ctx, "vm-old", disk)
	if err != nil {
		t.Fatal(err)
	}
	dir := c.nodes[0].dir
	c.nodes[0].stop()
	first, err := c.open("n1", 0, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	// The backfill runs on the loop's first tick.
	for deadline := time.Now().Add(10 * time.Second); stored(t, first.be).indexObjects < stored(t, first.be).packs; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no backfill in 10 s: %v", stored(t, first.be))
		}
	}
	second, err := c.open("n2", 1, t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Repo.RunPrune(ctx, repo.PruneOptions{Grace: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{first, second} {
		if err := n.Repo.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := n.restore(ctx, rc.Snapshot)
		if err != nil || !bytes.Equal(got, disk) {
			t.Fatalf("restore of the single server's snapshot from %s: %v", n.name, err)
		}
	}
	if _, err := c.open("single", 2, t.TempDir(), true); !errors.Is(err, repo.ErrClustered) {
		t.Fatalf("a server without --node on a cluster's repository: %v, want ErrClustered", err)
	}
}
