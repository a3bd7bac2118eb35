package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// cli runs a client command against s with the token tok ("" for the
// admin's) and returns stdout, stderr and the exit code.
func cli(t *testing.T, s *server, tok string, args ...string) (string, string, int) {
	t.Helper()
	if tok == "" {
		tok = s.token
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+tok, "SHADOWVAULT_CA_CERT=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: exit %d\n%s", args, code, lastLines(stderr.String(), 3))
	return stdout.String(), stderr.String(), code
}

// snapshotRows parses the table of `snapshots`: the rows by their VM
// column, each as its cells.
func snapshotRows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("snapshots printed:\n%s", out)
	}
	header := lines[0]
	cols := regexp.MustCompile(`\S+`).FindAllStringIndex(header, -1)
	var rows [][]string
	for _, l := range lines[1 : len(lines)-1] {
		var cells []string
		for i, c := range cols {
			end := len(l)
			if i+1 < len(cols) {
				end = min(cols[i+1][0], len(l))
			}
			if c[0] > 0 && l[c[0]-1] != ' ' {
				t.Fatalf("column %d is not aligned in %q (header %q)", i, l, header)
			}
			cells = append(cells, strings.TrimSpace(l[c[0]:end]))
		}
		rows = append(rows, cells)
	}
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, " snapshots") && !strings.HasSuffix(last, " snapshot") {
		t.Fatalf("no count at the end: %q", last)
	}
	return rows
}

// TestSnapshotArguments: the IDs `snapshots` shows, unique prefixes and
// latest (of --host and --vm) name snapshots in restore, ls, cat, find,
// protect and forget; an ambiguous prefix lists the candidates (exit 2),
// a prefix matching nothing says so (exit 3), also for a snapshot that
// another host's agent cannot see.
func TestSnapshotArguments(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	disk := vhdtest.NTFSDisk(t, dir, 16, map[string][]byte{"win.ini": []byte("[fonts]\n"), "report.txt": []byte("first\n")})
	name := filepath.Base(disk)
	var ids []string
	for _, vm := range []string{"VM1", "VM2", "VM1"} {
		out, _, code := cli(t, s, "", "backup", "--host", "HV01", "--vm", vm, disk)
		if code != 0 {
			t.Fatalf("backup exited %d", code)
		}
		ids = append(ids, between(out, `"snapshot": "`, `"`))
	}

	out, _, code := cli(t, s, "", "snapshots")
	rows := snapshotRows(t, out)
	if code != 0 || len(rows) != 3 {
		t.Fatalf("snapshots: exit %d, %d rows", code, len(rows))
	}
	short := map[string]string{}
	for i, r := range rows {
		id := r[0]
		if len(id) < shortIDLen || !strings.HasPrefix(ids[i], id) {
			t.Fatalf("row %d shows ID %q for snapshot %s", i, id, ids[i])
		}
		short[ids[i]] = id
		if r[2] != "HV01" || r[5] != "crash" || r[6] != "-" || r[7] != "16.0 MiB" || !strings.Contains(r[9], name) {
			t.Fatalf("row %d: %q", i, r)
		}
	}

	// The short ID restores the snapshot.
	restored := filepath.Join(dir, "restored.raw")
	if _, _, code := cli(t, s, "", "restore", short[ids[1]], name, "-o", restored); code != 0 {
		t.Fatalf("restore by short ID exited %d", code)
	}
	wantFile(t, restored, mustRead(t, disk), "restore by short ID")

	// latest, of a VM; with ls, cat and find.
	for _, args := range [][]string{
		{"ls", "latest", name, `\`},
		{"ls", "latest", "--vm", "VM2", name},
		{"find", "latest", name, "*.INI"},
		{"cat", "latest", "--host", "HV01", "--vm", "VM1", name, `\win.ini`},
	} {
		out, _, code := cli(t, s, "", args...)
		if code != 0 || !strings.Contains(out, "win.ini") && !strings.Contains(out, "[fonts]") {
			t.Fatalf("%v: exit %d:\n%s", args, code, out)
		}
	}

	// An ambiguous prefix: every snapshot shares its first characters
	// (their IDs begin with the time).
	prefix := ids[0][:4]
	_, errOut, code := cli(t, s, "", "restore", prefix, name, "-o", filepath.Join(dir, "x.raw"))
	if code != exitUsage || !strings.Contains(errOut, "matches 3 snapshots") || !strings.Contains(errOut, ids[2]) {
		t.Fatalf("ambiguous prefix: exit %d:\n%s", code, errOut)
	}
	wantNoFile(t, filepath.Join(dir, "x.raw"), "an ambiguous restore")
	_, errOut, code = cli(t, s, "", "ls", "ffffffff", name)
	if code != exitRefused || !strings.Contains(errOut, `no snapshot matches "ffffffff"`) {
		t.Fatalf("no match: exit %d:\n%s", code, errOut)
	}
	_, errOut, code = cli(t, s, "", "restore", "latest", "--vm", "VM9", name)
	if code != exitRefused || !strings.Contains(errOut, "no snapshot matches latest") {
		t.Fatalf("latest of a VM without snapshots: exit %d:\n%s", code, errOut)
	}
	if _, errOut, code = cli(t, s, "", "restore", "abc", name); code != exitUsage || !strings.Contains(errOut, "too short") {
		t.Fatalf("a 3-character prefix: exit %d:\n%s", code, errOut)
	}

	// Another host's agent does not see HV01's snapshots, by any name.
	tokOut, _, _ := cli(t, s, "", "token", "create", "--role", "agent", "--host", "HV02")
	agentTok := between(tokOut, "token:       ", "\n")
	for _, arg := range []string{short[ids[0]], "latest"} {
		if _, errOut, code := cli(t, s, agentTok, "protect", arg); code != exitRefused || !strings.Contains(errOut, "no snapshot matches") || strings.Contains(errOut, ids[0]) {
			t.Fatalf("protect %s with HV02's token: exit %d:\n%s", arg, code, errOut)
		}
	}

	// protect by prefix shows in the list; forget of one snapshot by prefix.
	if out, _, code := cli(t, s, "", "protect", short[ids[0]]); code != 0 || !strings.Contains(out, ids[0]+" protected") {
		t.Fatalf("protect: exit %d: %s", code, out)
	}
	out, _, _ = cli(t, s, "", "snapshots", "--vm", "VM1")
	rows = snapshotRows(t, out)
	if len(rows) != 2 || rows[0][6] != "yes" || rows[1][6] != "-" || rows[0][0] != short[ids[0]] {
		t.Fatalf("snapshots --vm VM1 after protect: %q", rows)
	}
	if _, errOut, code := cli(t, s, "", "forget", short[ids[0]]); code != exitRefused || !strings.Contains(errOut, "protected") {
		t.Fatalf("forget of a protected snapshot: exit %d:\n%s", code, errOut)
	}
	if out, _, code := cli(t, s, "", "forget", "--dry-run", short[ids[1]]); code != 0 || !strings.Contains(out, "would remove snapshot "+ids[1]) {
		t.Fatalf("forget --dry-run: exit %d: %s", code, out)
	}
	if out, _, code := cli(t, s, "", "forget", short[ids[1]]); code != 0 || !strings.Contains(out, "removed snapshot "+ids[1]) {
		t.Fatalf("forget: exit %d: %s", code, out)
	}
	if out, _, _ := cli(t, s, "", "snapshots"); strings.Contains(out, short[ids[1]]) || len(snapshotRows(t, out)) != 2 {
		t.Fatalf("snapshots after forget:\n%s", out)
	}
	if _, _, code := cli(t, s, "", "forget", short[ids[0]], "--keep-last", "1"); code != exitUsage {
		t.Fatalf("forget SNAPSHOT with a policy flag: exit %d, want %d", code, exitUsage)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
