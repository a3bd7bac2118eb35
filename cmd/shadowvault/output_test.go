package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// runAll runs a client command against s and returns its stdout and stderr
// together, and its exit code.
func runAll(t *testing.T, s *server, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	out, err := cmd.CombinedOutput()
	t.Logf("%v: exit %v\n%s", args, cmd.ProcessState.ExitCode(), lastLines(string(out), 5))
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// backupOne backs up a random disk and returns the snapshot ID, the disk
// name and its content.
func backupOne(t *testing.T, s *server, dir string, size int) (string, string, []byte) {
	t.Helper()
	disk := filepath.Join(dir, "disk0.raw")
	want := randomFile(t, disk, size)
	out, code := output(t, s, "backup", "--host", "HV01", "--vm", "VM1", disk)
	if code != 0 {
		t.Fatalf("backup exited %d", code)
	}
	snap := between(out, `"snapshot": "`, `"`)
	if snap == "" {
		t.Fatalf("no snapshot in the backup output:\n%s", out)
	}
	return snap, filepath.Base(disk), want
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func wantFile(t *testing.T, path string, want []byte, what string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %s holds %d bytes, not the %d expected", what, filepath.Base(path), len(got), len(want))
	}
}

func wantNoFile(t *testing.T, path, what string) {
	t.Helper()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("%s: %s exists (err %v)", what, filepath.Base(path), err)
	}
}

// TestRestoreOutputNeverDestroys: restore -o never overwrites an existing
// file without --force, never deletes one when the restore fails, and
// leaves no temporary file behind.
func TestRestoreOutputNeverDestroys(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	snap, disk, want := backupOne(t, s, dir, 3<<20)

	out := filepath.Join(t.TempDir(), "exists.raw")
	precious := []byte("a file the user cares about\n")
	if err := os.WriteFile(out, precious, 0o640); err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, filepath.Dir(out))

	msg, code := runAll(t, s, "restore", snap, disk, "-o", out)
	if code != exitRefused {
		t.Fatalf("restore onto an existing file exited %d, want %d", code, exitRefused)
	}
	if !strings.Contains(msg, "--force") {
		t.Fatalf("the refusal does not mention --force:\n%s", msg)
	}
	wantFile(t, out, precious, "restore without --force")

	if _, code := runAll(t, s, "restore", "nosuchsnap", disk, "-o", out); code == 0 {
		t.Fatal("restore of an unknown snapshot succeeded")
	}
	wantFile(t, out, precious, "failed restore without --force")

	if _, code := runAll(t, s, "restore", "nosuchsnap", disk, "--force", "-o", out); code != exitRefused {
		t.Fatalf("restore --force of an unknown snapshot exited %d, want %d", code, exitRefused)
	}
	wantFile(t, out, precious, "failed restore with --force")
	if got := dirNames(t, filepath.Dir(out)); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("failed restores left %v in the directory, want %v", got, before)
	}

	if _, code := runAll(t, s, "restore", snap, disk, "--force", "-o", out); code != 0 {
		t.Fatalf("restore --force exited %d", code)
	}
	wantFile(t, out, want, "restore --force")
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o640 {
		t.Fatalf("restore --force changed the mode to %v, want the file's 0640", fi.Mode().Perm())
	}

	fresh := filepath.Join(filepath.Dir(out), "fresh.raw")
	if _, code := runAll(t, s, "restore", snap, disk, "-o", fresh); code != 0 {
		t.Fatalf("restore to a new file exited %d", code)
	}
	wantFile(t, fresh, want, "restore to a new file")
	if got := dirNames(t, filepath.Dir(out)); strings.Join(got, ",") != "exists.raw,fresh.raw" {
		t.Fatalf("the directory holds %v, want only exists.raw and fresh.raw", got)
	}

	// To stdout, as before.
	cmd := exec.Command(binary, "restore", snap, disk)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	stdout, err := cmd.Output()
	if err != nil || !bytes.Equal(stdout, want) {
		t.Fatalf("restore to stdout: %v, %d bytes of %d", err, len(stdout), len(want))
	}
}

// TestCatOutputNeverDestroys: cat -o leaves nothing behind when the server
// answers 404, and does not overwrite an existing file without --force.
func TestCatOutputNeverDestroys(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	snap, disk, _ := backupOne(t, s, dir, 1<<20)
	outDir := t.TempDir()

	got := filepath.Join(outDir, "got.txt")
	if _, code := runAll(t, s, "cat", "nosuchsnap", disk, "/x.txt", "--part", "1", "-o", got); code != exitRefused {
		t.Fatalf("cat from an unknown snapshot exited %d, want %d", code, exitRefused)
	}
	wantNoFile(t, got, "cat answered 404")
	if names := dirNames(t, outDir); len(names) != 0 {
		t.Fatalf("a failed cat left %v behind", names)
	}

	precious := []byte("keep me\n")
	if err := os.WriteFile(got, precious, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, code := runAll(t, s, "cat", snap, disk, "/x.txt", "--part", "1", "-o", got); code == 0 {
		t.Fatal("cat onto an existing file succeeded")
	}
	wantFile(t, got, precious, "cat without --force")
	if _, code := runAll(t, s, "cat", snap, disk, "/x.txt", "--part", "1", "--force", "-o", got); code == 0 {
		t.Fatal("cat of a file in a disk without NTFS succeeded")
	}
	wantFile(t, got, precious, "failed cat with --force")
	if names := dirNames(t, outDir); strings.Join(names, ",") != "got.txt" {
		t.Fatalf("the directory holds %v, want only got.txt", names)
	}
}

// TestRestoreDamagedPack: a restore the server aborts mid-stream because a
// pack is missing is a server error (exit 5), not a network error, and the
// output file is neither created nor touched.
func TestRestoreDamagedPack(t *testing.T) {
	dir := t.TempDir()
	serverArgs = []string{"--init-pack-size", "1048576"}
	defer func() { serverArgs = nil }()
	s := startServer(t, dir)
	snap, disk, _ := backupOne(t, s, dir, 8<<20)
	packs, _ := filepath.Glob(filepath.Join(dir, "data", "packs", "*", "*"))
	if len(packs) < 2 {
		t.Fatalf("%d pack files under data/packs, want several", len(packs))
	}
	// The newest pack holds the end of the disk: the restore fails after
	// it sent most of it.
	newest, at := "", time.Time{}
	for _, p := range packs {
		if fi, err := os.Stat(p); err == nil && !fi.ModTime().Before(at) {
			newest, at = p, fi.ModTime()
		}
	}
	if err := os.Remove(newest); err != nil {
		t.Fatal(err)
	}
	// Restart, so that nothing the server holds open or cached hides the loss.
	s.kill()
	s = startServer(t, dir)

	outDir := t.TempDir()
	for _, format := range []string{"raw", "original"} {
		out := filepath.Join(outDir, "restored."+format)
		msg, code := runAll(t, s, "restore", snap, disk, "--format", format, "-o", out)
		if code != exitServer {
			t.Fatalf("%s restore with a missing pack exited %d, want %d (server error)", format, code, exitServer)
		}
		if !strings.Contains(msg, "server error") {
			t.Fatalf("%s restore with a missing pack does not say it is a server error:\n%s", format, msg)
		}
		wantNoFile(t, out, format+" restore with a missing pack")

		precious := []byte("older restore\n")
		if err := os.WriteFile(out, precious, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, code := runAll(t, s, "restore", snap, disk, "--format", format, "--force", "-o", out); code != exitServer {
			t.Fatalf("%s restore --force with a missing pack exited %d, want %d", format, code, exitServer)
		}
		wantFile(t, out, precious, format+" restore --force with a missing pack")
		os.Remove(out)
		if names := dirNames(t, outDir); len(names) != 0 {
			t.Fatalf("failed restores left %v behind", names)
		}
	}
}
