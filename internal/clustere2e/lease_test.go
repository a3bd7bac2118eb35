package clustere2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

// pruneAnswer is the status and error code of a POST /api/v1/prune.
type pruneAnswer struct {
	status int
	code   apiv1.Code
	result apiv1.PruneResult
}

// prune asks the server at base to prune with a grace of 1 ms.
func prune(ctx context.Context, t testing.TB, base, token string) pruneAnswer {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/prune", strings.NewReader(`{"grace":"1ms"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("prune %s: %v", base, err)
		return pruneAnswer{}
	}
	defer resp.Body.Close()
	a := pruneAnswer{status: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(resp.Body).Decode(&a.result)
		return a
	}
	var e apiv1.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&e)
	a.code = e.Error.Code
	return a
}

// withGarbage stores a snapshot on the first node and forgets it, so that
// a prune has packs to delete (and so holds the lease through its doom
// delay).
func withGarbage(t *testing.T, c *cluster) {
	t.Helper()
	ctx := context.Background()
	rc, err := c.nodes[0].backup(ctx, "vm-gone", random(7, 3<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[0].Repo.ForgetSnapshot(ctx, rc.Snapshot); err != nil {
		t.Fatal(err)
	}
	c.syncAll()
}

// TestClusterPruneRace asks two nodes to prune at the same moment: one
// runs, the other answers 409 MAINTENANCE_ELSEWHERE.
func TestClusterPruneRace(t *testing.T) {
	c := newCluster(t, 2, 256<<10, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: 3 * time.Second})
	withGarbage(t, c)
	var wg sync.WaitGroup
	answers := make([]pruneAnswer, 2)
	start := make(chan struct{})
	for i, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = prune(context.Background(), t, n.HTTP.URL, c.admin)
		}()
	}
	close(start)
	wg.Wait()
	ran, refused := 0, 0
	for i, a := range answers {
		switch {
		case a.status == http.StatusOK:
			ran++
			t.Logf("%s ran the prune: %d packs deleted", c.nodes[i].name, a.result.PacksDeleted)
		case a.status == http.StatusConflict && a.code == apiv1.CodeMaintenanceElsewhere:
			refused++
		default:
			t.Errorf("%s answered %d %s", c.nodes[i].name, a.status, a.code)
		}
	}
	if ran != 1 || refused != 1 {
		t.Fatalf("%d prunes ran and %d were refused, want 1 and 1", ran, refused)
	}
	// The lease is free again: the other node prunes now.
	if a := prune(context.Background(), t, c.nodes[1].HTTP.URL, c.admin); a.status != http.StatusOK {
		t.Fatalf("a prune after the first answered %d %s", a.status, a.code)
	}
}
