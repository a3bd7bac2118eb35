package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An encrypted repository through the real binary: serve creates it with a
// generated passphrase; a key file slot is added and listed; the state is
// lost (index, cached master key, the generated passphrase file); serve
// and repair refuse to go on without a key, repair with the passphrase
// copy brings every snapshot back; the last key slot cannot be removed.
func TestEncryptionCLI(t *testing.T) {
	dir := t.TempDir()
	repoDir := filepath.Join(dir, "data")
	s := startServer(t, dir)
	want := backupDisks(t, s, dir)
	if !strings.Contains(s.logs.String(), "generated passphrase") {
		t.Fatalf("serve did not say that it generated a passphrase:\n%s", s.logs)
	}
	cfg, err := os.ReadFile(filepath.Join(repoDir, "config", "config"))
	if err != nil || !strings.Contains(string(cfg), `"version": 2`) || strings.Contains(string(cfg), "polynomial") {
		t.Fatalf("config of a new repository: %v\n%s", err, cfg)
	}
	recovery := filepath.Join(dir, "recovery-copy")
	pass, err := os.ReadFile(filepath.Join(repoDir, recoveryFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recovery, pass, 0o600); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.logs.String(), strings.TrimSpace(string(pass))) {
		t.Fatal("the generated passphrase is in the server log")
	}

	keyFile := filepath.Join(dir, "vault.key")
	if code, out := runOut(t, nil, "key", "add", "--repo", repoDir, "--new-key-file", keyFile, "--label", "vault"); code != 0 {
		t.Fatalf("key add: %d\n%s", code, out)
	}
	code, out := runOut(t, nil, "key", "list", "--repo", repoDir, "--json")
	var slots []struct{ ID, Kind, Label string }
	if err := json.Unmarshal([]byte(out), &slots); code != 0 || err != nil || len(slots) != 2 {
		t.Fatalf("key list: %d %v\n%s", code, err, out)
	}
	if slots[0].Kind == "keyfile" { // listed by creation time, to the second
		slots[0], slots[1] = slots[1], slots[0]
	}
	if slots[0].Kind != "passphrase" || slots[1].Kind != "keyfile" || slots[1].Label != "vault" {
		t.Fatalf("key list:\n%s", out)
	}

	s.kill()
	for _, f := range []string{"index.db", masterKeyFile, recoveryFile} {
		if err := os.Remove(filepath.Join(repoDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if code, out := runOut(t, nil, "serve", "--repo", repoDir, "--listen", "127.0.0.1:0"); code == 0 || !strings.Contains(out, "passphrase") || time.Since(start) > 20*time.Second {
		t.Fatalf("serve without a key: exit %d:\n%s", code, out)
	}
	if code, out := runOut(t, nil, "repair", "index", "--repo", repoDir); code != exitFailure || !strings.Contains(out, "passphrase") {
		t.Fatalf("repair without a key: exit %d:\n%s", code, out)
	}
	wrong := filepath.Join(dir, "wrong")
	_ = os.WriteFile(wrong, []byte("not it\n"), 0o600)
	if code, out := runOut(t, nil, "repair", "index", "--repo", repoDir, "--passphrase-file", wrong); code != exitFailure || !strings.Contains(out, "wrong passphrase") {
		t.Fatalf("repair with a wrong passphrase: exit %d:\n%s", code, out)
	}
	if code, out := runOut(t, nil, "repair", "index", "--repo", repoDir, "--passphrase-file", recovery); code != 0 || !strings.Contains(out, "1 snapshots") {
		t.Fatalf("repair with the passphrase: exit %d:\n%s", code, out)
	}
	s2 := startServer(t, dir)
	if n := checkAllSnapshots(t, s2, want); n != 1 {
		t.Fatalf("%d snapshots after the repair, want 1", n)
	}

	// The key file alone opens it too; then the passphrase slot goes, and
	// the last slot stays.
	s2.kill()
	_ = os.Remove(filepath.Join(repoDir, masterKeyFile))
	if code, out := runOut(t, nil, "key", "remove", "--repo", repoDir, slots[0].ID); code != 0 {
		t.Fatalf("key remove: %d\n%s", code, out)
	}
	if code, out := runOut(t, nil, "key", "remove", "--repo", repoDir, slots[1].ID); code == 0 || !strings.Contains(out, "last key slot") {
		t.Fatalf("removing the last slot: %d\n%s", code, out)
	}
	if code, out := runOut(t, nil, "repair", "index", "--repo", repoDir, "--passphrase-file", recovery); code != exitFailure {
		t.Fatalf("a removed passphrase still opens: exit %d:\n%s", code, out)
	}
	_ = os.Remove(filepath.Join(repoDir, "index.db"))
	if code, out := runOut(t, nil, "repair", "index", "--repo", repoDir, "--key-file", keyFile); code != 0 || !strings.Contains(out, "1 snapshots") {
		t.Fatalf("repair with the key file: exit %d:\n%s", code, out)
	}

	if code, out := runOut(t, nil, "init", "--repo", repoDir); code == 0 || !strings.Contains(out, "already") {
		t.Fatalf("init over a repository: %d\n%s", code, out)
	}
	plain := filepath.Join(dir, "plain")
	if code, out := runOut(t, nil, "init", "--repo", plain, "--no-encryption"); code != 0 {
		t.Fatalf("init --no-encryption: %d\n%s", code, out)
	}
	if cfg, _ := os.ReadFile(filepath.Join(plain, "config", "config")); !strings.Contains(string(cfg), `"version": 1`) || strings.Contains(string(cfg), "encryption") {
		t.Fatalf("config of an unencrypted repository:\n%s", cfg)
	}
	if code, out := runOut(t, nil, "key", "list", "--repo", plain); code == 0 || !strings.Contains(out, "not encrypted") {
		t.Fatalf("key list of an unencrypted repository: %d\n%s", code, out)
	}
}

func TestInsideDir(t *testing.T) {
	for _, c := range []struct {
		path, dir string
		want      bool
	}{
		{"/srv/sv", "/srv/sv", true}, {"/srv/sv/state", "/srv/sv", true}, {"/srv/sv-state", "/srv/sv", false},
		{"/srv", "/srv/sv", false}, {"./shadowvault-state", "s3://bucket/sv", false}, {"/srv/sv/../x", "/srv/sv", false},
	} {
		if got := insideDir(c.path, c.dir); got != c.want {
			t.Errorf("insideDir(%q, %q) = %v", c.path, c.dir, got)
		}
	}
}
