package clustere2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// buildBinary builds cmd/shadowvault into dir, from the module root.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD: %q %v", gomod, err)
	}
	bin := filepath.Join(dir, "shadowvault")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/shadowvault")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/shadowvault: %v\n%s", err, out)
	}
	return bin
}

// startBinaryNode runs `shadowvault serve --node name` on the cluster's
// bucket, with the cluster's receipt key, and waits until it serves.
func startBinaryNode(t *testing.T, c *cluster, bin, name string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, "receipt.key"), c.key.Seed(), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, append([]string{"serve", "--repo", "s3://" + c.bucket + "/repo", "--state", state, "--listen", addr,
		"--s3-endpoint", storage.endpoints[len(storage.endpoints)-1], "--s3-tls=false", "--node", name, "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+storage.access, "AWS_SECRET_ACCESS_KEY="+storage.secret)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not serve in 20 s:\n%s", name, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasDoom reports whether a prune has announced packs in the bucket.
func hasDoom(be backend.Backend) bool {
	found := errors.New("found")
	err := be.List(context.Background(), backend.TypeCluster, func(fi backend.ObjectInfo) error {
		if strings.HasPrefix(fi.Handle.Name, "doom-") {
			return found
		}
		return nil
	})
	return errors.Is(err, found)
}

// TestClusterPruneNodeKilled kills a node (the real binary) in the middle
// of its prune, holding the lease: another node's prune is refused until
// the lease expires, then runs, and every snapshot still restores.
func TestClusterPruneNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const lease = 4 * time.Second
	bin := buildBinary(t, t.TempDir())
	ctx := context.Background()
	c := newCluster(t, 1, 256<<10, repo.ClusterOptions{Refresh: 200 * time.Millisecond, Lease: lease, DoomDelay: time.Second})
	keep := random(8, 3<<20)
	rc, err := c.nodes[0].backup(ctx, "vm-keep", keep)
	if err != nil {
		t.Fatal(err)
	}
	withGarbage(t, c)
	cmd, base := startBinaryNode(t, c, bin, "doomed", "--cluster-refresh", "200ms", "--cluster-lease", lease.String(), "--cluster-doom-delay", "30s")
	go func() { // never answers: the node dies
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/prune", strings.NewReader(`{"grace":"1ms"}`))
		req.Header.Set("Authorization", "Bearer "+c.admin)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for deadline := time.Now().Add(15 * time.Second); !hasDoom(c.nodes[0].be); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the binary node's prune announced no packs in 15 s")
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if a := prune(ctx, t, c.nodes[0].HTTP.URL, c.admin); a.status != http.StatusConflict || a.code != apiv1.CodeMaintenanceElsewhere {
		t.Fatalf("a prune while the dead node's lease runs answered %d %s, want 409 %s", a.status, a.code, apiv1.CodeMaintenanceElsewhere)
	}
	var a pruneAnswer
	for {
		if a = prune(ctx, t, c.nodes[0].HTTP.URL, c.admin); a.status != http.StatusConflict {
			break
		}
		if time.Since(killed) > 3*lease+5*time.Second {
			t.Fatalf("the lease of the killed node still blocks prune %v after the kill", time.Since(killed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	blocked := time.Since(killed)
	if a.status != http.StatusOK {
		t.Fatalf("prune after the lease expired answered %d %s", a.status, a.code)
	}
	t.Logf("killed mid-prune holding a %v lease: prune elsewhere refused for %v, then ran (%d packs deleted)", lease, blocked.Round(10*time.Millisecond), a.result.PacksDeleted)
	if a.result.PacksDeleted == 0 {
		t.Errorf("the prune after the kill deleted nothing")
	}
	got, err := c.nodes[0].restore(ctx, rc.Snapshot)
	if err != nil || !bytes.Equal(got, keep) {
		t.Fatalf("restore after the prune: %v", err)
	}
}
