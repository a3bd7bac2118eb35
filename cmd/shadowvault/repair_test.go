package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/miniotest"
)

// runOut runs the binary with args and extra environment, and returns its
// exit code and combined output.
func runOut(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// backupDisks backs up two random disks through the CLI and returns them
// by name.
func backupDisks(t *testing.T, s *server, dir string) map[string][]byte {
	t.Helper()
	want := map[string][]byte{
		"a.raw": randomFile(t, filepath.Join(dir, "a.raw"), 5<<20+3),
		"b.raw": randomFile(t, filepath.Join(dir, "b.raw"), 1<<20),
	}
	if code := run(t, s, "backup", "--host", "HV01", "--vm", "VM1", filepath.Join(dir, "a.raw"), filepath.Join(dir, "b.raw")); code != 0 {
		t.Fatalf("backup exited %d", code)
	}
	return want
}

// repair index: refused with a clear message while a server holds the
// index, done by the server when asked over the API, and done offline after
// the index file is deleted, with a new admin token for the empty index.
func TestRepairIndexCLI(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	want := backupDisks(t, s, dir)
	repoDir := filepath.Join(dir, "data")

	start := time.Now()
	code, out := runOut(t, nil, "repair", "index", "--repo", repoDir)
	if code != exitFailure || !strings.Contains(out, "locked by another process") || time.Since(start) > 20*time.Second {
		t.Fatalf("repair while serving: exit %d after %v:\n%s", code, time.Since(start), out)
	}
	code, out = runOut(t, nil, "repair", "index", "--server", s.url, "--token", s.token)
	if code != 0 || !strings.Contains(out, "1 snapshots") {
		t.Fatalf("repair through the server: exit %d:\n%s", code, out)
	}

	s.kill()
	if err := os.Remove(filepath.Join(repoDir, "index.db")); err != nil {
		t.Fatal(err)
	}
	code, out = runOut(t, nil, "repair", "index", "--repo", repoDir)
	if code != 0 || !strings.Contains(out, "1 snapshots") || !strings.Contains(out, "restored from the repository: 1 tokens") ||
		strings.Contains(out, "new admin token") || strings.Contains(out, "ERROR") {
		t.Fatalf("offline repair: exit %d:\n%s", code, out)
	}
	s2 := startServer(t, dir) // the admin token came back from the repository
	if n := checkAllSnapshots(t, s2, want); n != 1 {
		t.Fatalf("%d snapshots after the repair, want 1", n)
	}
	if code, _ := runOut(t, nil, "repair"); code != exitUsage {
		t.Fatalf("repair without a verb exited %d, want %d", code, exitUsage)
	}
}

// serve --repo s3://... keeps the repository in MinIO with the index in
// --state; repair index rebuilds that index from the bucket alone.
func TestServeS3(t *testing.T) {
	srv := miniotest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	dir := t.TempDir()
	state := filepath.Join(dir, "data")
	s3Args := []string{"--repo", "s3://vault/hv-cluster", "--state", state, "--s3-endpoint", srv.URL()}
	s := startServerArgs(t, dir, append(s3Args, "--s3-create-bucket")...)
	want := backupDisks(t, s, dir)
	if _, err := os.Stat(filepath.Join(state, "index.db")); err != nil {
		t.Fatalf("index not in --state: %v", err)
	}
	s.kill()

	if err := os.Remove(filepath.Join(state, "index.db")); err != nil {
		t.Fatal(err)
	}
	code, out := runOut(t, nil, append([]string{"repair", "index"}, s3Args...)...)
	if code != 0 || !strings.Contains(out, "1 snapshots") {
		t.Fatalf("repair of the S3 repository: exit %d:\n%s", code, out)
	}
	s2 := startServerArgs(t, dir, s3Args...)
	if n := checkAllSnapshots(t, s2, want); n != 1 {
		t.Fatalf("%d snapshots after the repair, want 1", n)
	}

	noCreds := []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "MINIO_ACCESS_KEY=", "MINIO_SECRET_KEY="}
	code, out = runOut(t, noCreds, append([]string{"repair", "index"}, s3Args...)...)
	if code == 0 || !strings.Contains(out, "no credentials") {
		t.Fatalf("repair without credentials: exit %d:\n%s", code, out)
	}
}
