package clustere2e

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
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

// TestClusterGuardAfterTheGoneRecordApplied is the rare interleaving of
// the test above made certain: n2's session deduplicates against the
// packs before n2 learns of the prune, its complete finds every chunk
// indexed, and n2 applies the prune's gone record after that look and
// before the complete reads the prune records. The guard must then still
// refuse: the chunks are indexed nowhere any more.
func TestClusterGuardAfterTheGoneRecordApplied(t *testing.T) {
	ctx := context.Background()
	var armed atomic.Bool
	var n2 *node
	wrapBackend = func(name string, be backend.Backend) backend.Backend {
		if name != "n2" {
			return be
		}
		return &listHook{Backend: be, before: func(t backend.Type) {
			if t == backend.TypeCluster && armed.CompareAndSwap(true, false) {
				if err := n2.Repo.Refresh(ctx); err != nil {
					panic(err)
				}
			}
		}}
	}
	defer func() { wrapBackend = nil }()
	c := newCluster(t, 2, 256<<10, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: time.Second})
	n2 = c.nodes[1]
	disk := random(81, 2<<20)
	old, err := c.nodes[0].backup(ctx, "vm-old", disk)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[0].Repo.ForgetSnapshot(ctx, old.Snapshot); err != nil {
		t.Fatal(err)
	}
	c.syncAll()

	cl := n2.client()
	id, err := cl.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "vm-new", BackupType: "copy", Consistency: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	before := stored(t, c.nodes[0].be).packs
	if _, err := cl.PutDisk(ctx, id, "disk0.raw", bytes.NewReader(disk), int64(len(disk)), "raw"); err != nil {
		t.Fatal(err)
	}
	if after := stored(t, c.nodes[0].be).packs; after != before {
		t.Fatalf("n2 stored %d packs of content n1 stored: the test proves nothing", after-before)
	}
	res, err := c.nodes[0].Repo.RunPrune(ctx, repo.PruneOptions{Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksDeleted == 0 {
		t.Fatal("the prune deleted nothing: the test proves nothing")
	}
	// The complete's first listing of the prune records is its guard's:
	// n2 applies the gone record right before it.
	armed.Store(true)
	if rc, err := cl.Complete(ctx, id); err == nil {
		restored, rerr := n2.restore(ctx, rc.Snapshot)
		t.Fatalf("n2 completed snapshot %s over packs a prune deleted (restore: %d bytes, %v)", rc.Snapshot, len(restored), rerr)
	} else {
		t.Logf("the complete on n2 was refused: %v", err)
	}
	if armed.Load() {
		t.Fatal("the complete never listed the prune records: the test proves nothing")
	}
	if err := cl.Abort(ctx, id); err != nil {
		t.Fatal(err)
	}
	rc, err := n2.backup(ctx, "vm-new", disk)
	if err != nil {
		t.Fatalf("the retry on n2: %v", err)
	}
	c.syncAll()
	for _, n := range c.nodes {
		got, err := n.restore(ctx, rc.Snapshot)
		if err != nil || !bytes.Equal(got, disk) {
			t.Fatalf("restore of the retried backup from %s: %v", n.name, err)
		}
	}
}

// wrapBackend, when set, wraps the backend of each node opened.
var wrapBackend func(node string, be backend.Backend) backend.Backend

// listHook calls before ahead of each listing.
type listHook struct {
	backend.Backend
	before func(backend.Type)
}

func (l *listHook) List(ctx context.Context, t backend.Type, fn func(backend.ObjectInfo) error) error {
	l.before(t)
	return l.Backend.List(ctx, t, fn)
}

func (l *listHook) Unwrap() backend.Backend { return l.Backend }
