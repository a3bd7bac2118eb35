package clustere2e

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// TestClusterEncrypted runs two nodes on an encrypted repository: index
// objects and records are sealed like every object but packs, another
// node restores what one stored, and the lease (stored unsealed) still
// lets only one prune run.
func TestClusterEncrypted(t *testing.T) {
	master, err := crypt.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := newClusterOf(t, 2, 256<<10, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: 3 * time.Second}, false, &master)
	disk := random(70, 2<<20)
	rc, err := c.nodes[0].backup(ctx, "vm-enc", disk)
	if err != nil {
		t.Fatal(err)
	}
	c.syncAll()
	got, err := c.nodes[1].restore(ctx, rc.Snapshot)
	if err != nil || !bytes.Equal(got, disk) {
		t.Fatalf("restore on n2 of what n1 stored: %v", err)
	}
	// The raw bucket holds no index object in the clear.
	seen := 0
	err = c.nodes[0].raw.List(ctx, backend.TypeIndex, func(fi backend.ObjectInfo) error {
		b, err := backend.ReadAll(ctx, c.nodes[0].raw, fi.Handle)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(b, []byte("svix")) {
			t.Errorf("index object %s is stored in the clear", fi.Handle.Name)
		}
		seen++
		return nil
	})
	if err != nil || seen == 0 {
		t.Fatalf("index objects: %d, %v", seen, err)
	}
	withGarbage(t, c)
	answers := make(chan pruneAnswer, 2)
	for _, n := range c.nodes {
		go func() { answers <- prune(ctx, t, n.HTTP.URL, c.admin) }()
	}
	a, b := <-answers, <-answers
	if a.status == http.StatusOK {
		a, b = b, a
	}
	if b.status != http.StatusOK || a.status != http.StatusConflict || a.code != apiv1.CodeMaintenanceElsewhere {
		t.Fatalf("two prunes answered %d %s and %d %s, want one 200 and one 409 %s", a.status, a.code, b.status, b.code, apiv1.CodeMaintenanceElsewhere)
	}
	c.syncAll()
	if got, err := c.nodes[1].restore(ctx, rc.Snapshot); err != nil || !bytes.Equal(got, disk) {
		t.Fatalf("restore on n2 after the prune: %v", err)
	}
}
