package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestLsCat backs up an NTFS disk with the CLI and reads a file back from
// the snapshot with `ls` and `cat`.
func TestLsCat(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	want := bytes.Repeat([]byte("a file inside a backup\n"), 40000)
	raw := vhdtest.NTFSDisk(t, dir, 16, map[string][]byte{"report.txt": want})
	out, code := output(t, s, "backup", "--host", "HV01", "--vm", "VM1", raw)
	if code != 0 {
		t.Fatalf("backup exited %d", code)
	}
	snap := between(out, `"snapshot": "`, `"`)
	disk := filepath.Base(raw)
	ls, code := output(t, s, "ls", snap, disk, "/")
	if code != 0 || !strings.Contains(ls, "report.txt") {
		t.Fatalf("ls exited %d:\n%s", code, ls)
	}
	got := filepath.Join(dir, "got.txt")
	if _, code := output(t, s, "cat", snap, disk, "/report.txt", "-o", got); code != 0 {
		t.Fatalf("cat exited %d", code)
	}
	if b, _ := os.ReadFile(got); !bytes.Equal(b, want) {
		t.Fatalf("cat wrote %d bytes, want the %d put in", len(b), len(want))
	}
	if _, code := output(t, s, "cat", snap, disk, "/missing.txt", "-o", got); code != exitRefused {
		t.Fatalf("cat of a missing file exited %d, want %d", code, exitRefused)
	}
}

// output runs a client command against s and returns its stdout and exit code.
func output(t *testing.T, s *server, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Logf("%v: %s", args, stderr.String())
		return stdout.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), 0
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
