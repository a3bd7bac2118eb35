package clustere2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// TestClusterCatchUp measures the catch-up delay: from a complete on one
// node to the snapshot listed (its data indexed, so deduplicated against)
// on another, with a refresh interval of 1 s; and a token revoked on one
// node stops working on the other within the same delay.
func TestClusterCatchUp(t *testing.T) {
	const refresh = time.Second
	ctx := context.Background()
	c := newCluster(t, 2, 1<<20, repo.ClusterOptions{Refresh: refresh, Lease: 5 * time.Second, DoomDelay: time.Second})
	var worst time.Duration
	for i := range 3 {
		rc, err := c.nodes[0].backup(ctx, "vm-catchup", random(uint64(40+i), 2<<20))
		if err != nil {
			t.Fatal(err)
		}
		done := time.Now()
		for {
			if _, err := c.nodes[1].Repo.Snapshot(rc.Snapshot); err == nil {
				break
			}
			if time.Since(done) > 5*refresh {
				t.Fatalf("n2 does not list the snapshot of n1 %v after its complete", time.Since(done))
			}
			time.Sleep(10 * time.Millisecond)
		}
		worst = max(worst, time.Since(done))
	}
	var stats apiv1.Stats
	if err := c.nodes[1].client().DoJSON(ctx, http.MethodGet, "/api/v1/stats", nil, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Cluster == nil || stats.Cluster.Node != "n2" || stats.Cluster.SnapshotsImported < 3 {
		t.Fatalf("GET /api/v1/stats on n2: cluster %+v", stats.Cluster)
	}
	st := *stats.Cluster
	body, err := c.nodes[1].client().Get(ctx, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Contains(metrics, []byte("shadowvault_cluster_refreshes_total")) {
		t.Errorf("/metrics on n2 has no cluster metrics")
	}
	t.Logf("catch-up delay with a %v refresh: at most %v over 3 backups; n2 refreshes took %.3f s the last time, %d refreshes, %d lists, %d gets",
		refresh, worst.Round(time.Millisecond), st.LastRefreshSecs, st.Refreshes, st.Lists, st.Gets)
	if worst > refresh+2*time.Second { // generous: the machine is shared
		t.Errorf("catch-up delay %v, want at most the refresh interval %v and one refresh", worst, refresh)
	}
}

// TestSingleNodeWritesNoClusterObjects checks that a server without
// cluster options stores no index object, record or lease, through a
// backup and a prune.
func TestSingleNodeWritesNoClusterObjects(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 1, 1<<20, repo.ClusterOptions{Refresh: time.Hour})
	c.nodes[0].stop()
	raw, be := c.openS3(0, false)
	defer raw.Close()
	for _, ty := range []backend.Type{backend.TypeIndex, backend.TypeCluster, backend.TypeLease} {
		if err := removeAll(ctx, be, ty); err != nil {
			t.Fatal(err)
		}
	}
	// The same repository, served by a single server.
	dir := t.TempDir()
	idx, err := index.Open(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := repo.Open(ctx, be, idx, repo.Options{ReceiptKey: c.key, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	tokens := api.NewTokens(r)
	if _, c.admin, err = tokens.Create(apiv1.RoleAdmin, ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(r, tokens, api.Options{Logger: quiet, SpillDir: filepath.Join(dir, "spill")}).Handler())
	defer srv.Close()
	n := &node{c: c, name: "single", HTTP: srv}
	rc, err := n.backup(ctx, "single", random(50, 2<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ForgetSnapshot(ctx, rc.Snapshot); err != nil {
		t.Fatal(err)
	}
	if a := prune(ctx, t, srv.URL, c.admin); a.status != http.StatusOK || a.result.PacksDeleted == 0 {
		t.Fatalf("prune: %d %s, %d packs deleted", a.status, a.code, a.result.PacksDeleted)
	}
	for _, ty := range []backend.Type{backend.TypeIndex, backend.TypeCluster, backend.TypeLease} {
		n := 0
		if err := be.List(ctx, ty, func(backend.ObjectInfo) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			t.Errorf("a single server stored %d objects of type %s", n, ty)
		}
	}
}

func removeAll(ctx context.Context, be backend.Backend, t backend.Type) error {
	var hs []backend.Handle
	err := be.List(ctx, t, func(fi backend.ObjectInfo) error { hs = append(hs, fi.Handle); return nil })
	for _, h := range hs {
		if rerr := be.Remove(ctx, h); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// TestClusterTokens revokes a token on one node (the other stops taking
// it at its next refresh, and a restart does not bring it back) and makes
// one in a stopped node's index (token create with the server stopped):
// it reaches the bucket and the other node.
func TestClusterTokens(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 2, 1<<20, repo.ClusterOptions{Refresh: time.Hour, Lease: 5 * time.Second, DoomDelay: time.Second})
	tok, plain, err := api.NewTokens(c.nodes[0].Repo).Create(apiv1.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	c.syncAll()
	check := func(n *node, token string) int {
		req, _ := http.NewRequest(http.MethodGet, n.HTTP.URL+"/api/v1/stats", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := check(c.nodes[1], plain); got != http.StatusOK {
		t.Fatalf("a token made on n1 answered %d on n2", got)
	}
	if err := api.NewTokens(c.nodes[0].Repo).Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	c.syncAll()
	if got := check(c.nodes[1], plain); got != http.StatusUnauthorized {
		t.Fatalf("a token revoked on n1 answered %d on n2", got)
	}
	// n2 stops; a token it knew is revoked on n1, and one is made in its
	// index; it starts again.
	tok2, plain2, err := api.NewTokens(c.nodes[0].Repo).Create(apiv1.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	c.syncAll()
	dir := c.nodes[1].dir
	c.nodes[1].stop()
	if err := api.NewTokens(c.nodes[0].Repo).Revoke(tok2.ID); err != nil {
		t.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, offline, err := api.NewTokens(idx).Create(apiv1.RoleAdmin, "")
	idx.Close()
	if err != nil {
		t.Fatal(err)
	}
	n2, err := c.open("n2", 1, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[0].Repo.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{c.nodes[0], n2} {
		if got := check(n, offline); got != http.StatusOK {
			t.Fatalf("a token made offline in n2's index answered %d on %s", got, n.name)
		}
		if got := check(n, plain); got != http.StatusUnauthorized {
			t.Fatalf("the revoked token came back on %s: %d", n.name, got)
		}
		if got := check(n, plain2); got != http.StatusUnauthorized {
			t.Fatalf("a token revoked while n2 was stopped answered %d on %s", got, n.name)
		}
	}
}
