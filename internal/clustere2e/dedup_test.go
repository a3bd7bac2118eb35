package clustere2e

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo"
)

// TestClusterDedupAndCatalogue backs up overlapping disks through three
// nodes at once, then checks that every node lists and restores every
// snapshot byte for byte, that the shared content is stored about once
// (the duplicates of the catch-up window are counted), that a backup after
// the catch-up stores only its new bytes, and that a forget and a prune on
// one node reach the others.
func TestClusterDedupAndCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy: three nodes, 100 MB of backups and restores")
	}
	const shared, unique = 12 << 20, 2 << 20
	ctx := context.Background()
	c := newCluster(t, 3, 1<<20, repo.ClusterOptions{Refresh: 300 * time.Millisecond, Lease: 5 * time.Second, DoomDelay: time.Second})
	base := random(1, shared)
	disks := map[string][]byte{}
	var mu sync.Mutex
	snaps := map[string]string{} // snapshot -> vm
	var wg sync.WaitGroup
	start := time.Now()
	for i, n := range c.nodes {
		for k := range 2 {
			vm := fmt.Sprintf("vm-%d-%d", i+1, k)
			disk := append(append([]byte(nil), base...), random(uint64(100+10*i+k), unique)...)
			disks[vm] = disk
			wg.Add(1)
			go func() {
				defer wg.Done()
				rc, err := n.backup(ctx, vm, disk)
				if err != nil {
					t.Errorf("backup %s through %s: %v", vm, n.name, err)
					return
				}
				mu.Lock()
				snaps[rc.Snapshot] = vm
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	input := int64(len(disks)) * (shared + unique)
	ideal := int64(shared + len(disks)*unique)
	window := stored(t, c.nodes[0].be)
	t.Logf("6 concurrent backups through 3 nodes (%d bytes in %v): %v; ideal %d bytes, stored/ideal %.2f",
		input, time.Since(start).Round(time.Millisecond), window, ideal, float64(window.packBytes)/float64(ideal))
	if window.packBytes > 3*ideal {
		t.Errorf("stored %d bytes for %d distinct: no dedup across nodes", window.packBytes, ideal)
	}

	catchUp := time.Now()
	c.syncAll()
	t.Logf("catch-up of the 3 nodes (one refresh each) took %v", time.Since(catchUp).Round(time.Millisecond))
	// After the catch-up, the shared content is known on every node.
	rc, err := c.nodes[1].backup(ctx, "vm-late", append(append([]byte(nil), base...), random(999, unique)...))
	if err != nil {
		t.Fatal(err)
	}
	disks["vm-late"] = append(append([]byte(nil), base...), random(999, unique)...)
	snaps[rc.Snapshot] = "vm-late"
	if nb := rc.Disks[0].NewBytes; nb > unique+(2<<20) {
		t.Errorf("a backup after the catch-up stored %d new bytes, want about %d (only its unique part)", nb, unique)
	} else {
		t.Logf("backup after catch-up through another node: %d new bytes of %d", nb, shared+unique)
	}
	c.syncAll()
	for _, n := range c.nodes {
		list, err := n.Repo.Snapshots(repo.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(snaps) {
			t.Fatalf("%s lists %d snapshots, want %d", n.name, len(list), len(snaps))
		}
		for snap, vm := range snaps {
			got, err := n.restore(ctx, snap)
			if err != nil {
				t.Fatalf("restore %s (%s) from %s: %v", snap, vm, n.name, err)
			}
			if !bytes.Equal(got, disks[vm]) {
				t.Fatalf("restore %s (%s) from %s: %d bytes differ from the %d backed up", snap, vm, n.name, len(got), len(disks[vm]))
			}
		}
	}

	// A forget on one node unlists the snapshot everywhere; a prune on
	// another deletes what only it held, and every node still restores
	// the rest.
	var gone string
	for snap, vm := range snaps {
		if vm == "vm-1-0" {
			gone = snap
		}
	}
	if err := c.nodes[0].Repo.ForgetSnapshot(ctx, gone); err != nil {
		t.Fatal(err)
	}
	delete(snaps, gone)
	c.syncAll()
	for _, n := range c.nodes {
		if list, _ := n.Repo.Snapshots(repo.Filter{}); len(list) != len(snaps) {
			t.Fatalf("%s lists %d snapshots after a forget on n1, want %d", n.name, len(list), len(snaps))
		}
	}
	res, err := c.nodes[2].Repo.RunPrune(ctx, repo.PruneOptions{Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	after := stored(t, c.nodes[0].be)
	t.Logf("prune on n3: %d packs deleted, %d rewritten into %d, %d bytes freed; now %v", res.PacksDeleted, res.PacksRewritten, res.PacksWritten, res.BytesFreed, after)
	c.syncAll()
	for _, n := range c.nodes {
		for snap, vm := range snaps {
			got, err := n.restore(ctx, snap)
			if err != nil || !bytes.Equal(got, disks[vm]) {
				t.Fatalf("restore %s (%s) from %s after the prune: %v", snap, vm, n.name, err)
			}
		}
		res, err := n.Repo.RunCheck(ctx, repo.CheckOptions{ReadDataPercent: 100})
		if err != nil || !res.OK {
			t.Fatalf("check on %s after the prune: %v %v", n.name, err, res.Problems)
		}
	}
}
