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

// TestFindAndRecursiveLs: ls -R and find walk an NTFS volume of a
// snapshot disk; paths may be written the Windows way.
func TestFindAndRecursiveLs(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	raw := vhdtest.NTFSDisk(t, dir, 16, map[string][]byte{
		"win.ini": []byte("[fonts]\n"), "report.TXT": []byte("report\n"),
		"$Extend/c.bin": []byte("c"), "$Extend/d.INI": []byte("[d]\n"),
	})
	disk := filepath.Base(raw)
	if _, _, code := cli(t, s, "", "backup", "--host", "HV01", "--vm", "VM1", raw); code != 0 {
		t.Fatalf("backup exited %d", code)
	}
	paths := func(out string) string {
		var p []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			f := strings.Fields(l)
			p = append(p, f[len(f)-1])
		}
		return strings.Join(p, " ")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "latest", disk, `\`}, "report.TXT win.ini"},
		{[]string{"ls", "latest", disk, `C:\`}, "report.TXT win.ini"},
		{[]string{"ls", "-R", "latest", disk}, "/report.TXT /win.ini"},
		{[]string{"ls", "-R", "latest", disk, `C:\$Extend`}, "/$Extend/$ObjId /$Extend/$Quota /$Extend/$Reparse /$Extend/c.bin /$Extend/d.INI"},
		{[]string{"find", "latest", disk, "*.ini"}, "/win.ini"},
		{[]string{"find", "latest", disk, "*.INI", `\$extend`}, "/$extend/d.INI"}, // PATH as given
		{[]string{"find", "latest", disk, "?.*", `\$Extend`}, "/$Extend/c.bin /$Extend/d.INI"},
	} {
		out, _, code := cli(t, s, "", tc.args...)
		if code != 0 || paths(out) != tc.want {
			t.Errorf("%v: exit %d: %q, want %q\n%s", tc.args, code, paths(out), tc.want, out)
		}
	}
	if out, _, code := cli(t, s, "", "cat", "latest", disk, `\$Extend\c.bin`); code != 0 || out != "c" {
		t.Errorf("cat of a Windows path: exit %d: %q", code, out)
	}
	if _, errOut, code := cli(t, s, "", "find", "latest", disk, "["); code != exitUsage || !strings.Contains(errOut, "PATTERN") {
		t.Errorf("a bad pattern: exit %d:\n%s", code, errOut)
	}
	if _, _, code := cli(t, s, "", "ls", "latest", disk, `\win.ini`); code != exitRefused {
		t.Errorf("ls of a file: exit %d, want %d", code, exitRefused)
	}
	if _, errOut, code := cli(t, s, "", "ls", "-R", "--max-entries", "2", "latest", disk, `\$Extend`); code != exitFailure || !strings.Contains(errOut, "--max-entries") {
		t.Errorf("ls -R past --max-entries: exit %d:\n%s", code, errOut)
	}
}
