package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var tokenRE = regexp.MustCompile(`token:\s+(svt_\S+)`)

// With the only admin token lost, an operator stops the server and makes a
// new one offline; with the server running, that is refused clearly.
func TestOfflineAdminToken(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "data")
	s := startServer(t, dir)
	code, out := runOut(t, nil, "token", "create", "--role", "admin", "--state", state)
	if code == 0 || !strings.Contains(out, "locked by a running server") {
		t.Fatalf("offline token create with the server running: exit %d, %s", code, out)
	}
	s.kill()
	code, out = runOut(t, nil, "token", "create", "--role", "admin", "--state", state)
	m := tokenRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("offline token create: exit %d, %s", code, out)
	}
	s = startServer(t, dir)
	s.token = m[1]
	var list map[string]any
	if err := s.client().Do(context.Background(), "GET", "/api/v1/tokens", nil, 0, &list); err != nil {
		t.Fatalf("the offline admin token does not work: %v", err)
	}
}

// A repository with signed snapshots never gets a new receipt key silently:
// with the key file lost, serve refuses and says what to do, and rotates
// only when asked.
func TestReceiptKeyNotReplacedSilently(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	backupDisks(t, s, dir)
	s.kill()
	keyFile := filepath.Join(dir, "data", "receipt.key")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	code, out := runOut(t, nil, "serve", "--repo", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(out, "--rotate-receipt-key") {
		t.Fatalf("serve without its receipt key: exit %d, %s", code, out)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("a refused start left a new key behind")
	}
	serverArgs = []string{"--rotate-receipt-key"}
	defer func() { serverArgs = nil }()
	startServer(t, dir)
	if _, err := os.Stat(keyFile); err != nil {
		t.Fatalf("rotation made no key: %v", err)
	}
}
