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

// TestClusterMinIOProcessKilled kills one of the four MinIO processes in
// the middle of concurrent backups through three nodes: the erasure-coded
// cluster keeps serving, every backup that got a receipt restores byte
// for byte from every node.
func TestClusterMinIOProcessKilled(t *testing.T) {
	if testing.Short() || !storage.distribute {
		t.Skip("needs the distributed MinIO")
	}
	ctx := context.Background()
	c := newCluster(t, 3, 1<<20, repo.ClusterOptions{Refresh: 500 * time.Millisecond, Lease: 5 * time.Second, DoomDelay: time.Second})
	disks := map[string][]byte{}
	for i := range c.nodes {
		disks[fmt.Sprintf("vm%d", i)] = random(uint64(90+i), 12<<20)
	}
	var mu sync.Mutex
	snaps := map[string]string{}
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		vm := fmt.Sprintf("vm%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := n.backup(ctx, vm, disks[vm])
			if err != nil {
				t.Logf("backup %s through %s failed (no receipt): %v", vm, n.name, err)
				return
			}
			mu.Lock()
			snaps[rc.Snapshot] = vm
			mu.Unlock()
		}()
	}
	start := time.Now()
	time.Sleep(300 * time.Millisecond)
	storage.cluster.Kill(3) // no node talks to it directly
	killed := time.Since(start)
	wg.Wait()
	t.Logf("MinIO process 4 killed %v after the backups began, which ended %v after", killed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	defer func() {
		if err := storage.cluster.Restart(3); err != nil {
			t.Errorf("restart minio process 4: %v", err)
		}
	}()
	if len(snaps) == 0 {
		t.Fatal("no backup completed with one of four MinIO processes down")
	}
	c.syncAll()
	for _, n := range c.nodes {
		for snap, vm := range snaps {
			got, err := n.restore(ctx, snap)
			if err != nil || !bytes.Equal(got, disks[vm]) {
				t.Fatalf("restore %s (%s) from %s with a MinIO process down: %v", snap, vm, n.name, err)
			}
		}
	}
	t.Logf("%d of 3 backups got a receipt with MinIO process 4 killed mid-backup; each restores from every node", len(snaps))
}

// TestClusterNodeKilledMidSession drops a node in the middle of an upload:
// that session fails without a receipt, the retry through another node
// succeeds, and the third node, unaffected, lists and restores it.
func TestClusterNodeKilledMidSession(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy")
	}
	ctx := context.Background()
	c := newCluster(t, 3, 1<<20, repo.ClusterOptions{Refresh: 300 * time.Millisecond, Lease: 5 * time.Second, DoomDelay: time.Second})
	disk := random(95, 24<<20)
	done := make(chan error, 1)
	go func() {
		_, err := c.nodes[1].backup(ctx, "vm-moved", disk)
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	c.nodes[1].HTTP.CloseClientConnections()
	c.nodes[1].stop()
	if err := <-done; err == nil {
		t.Fatal("a backup through a node that died got a receipt")
	} else {
		t.Logf("the backup through the dying node failed: %v", err)
	}
	rc, err := c.nodes[0].backup(ctx, "vm-moved", disk)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[2].Repo.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.nodes[2].restore(ctx, rc.Snapshot)
	if err != nil || !bytes.Equal(got, disk) {
		t.Fatalf("restore on n3 of the retried backup: %v", err)
	}
}
