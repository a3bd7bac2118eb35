package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestJSONAndTables: every verb that prints data prints JSON with --json
// (one document, a trailing newline) and a table or text otherwise, also
// ending in a newline.
func TestJSONAndTables(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	disk := vhdtest.NTFSDisk(t, dir, 16, map[string][]byte{"win.ini": []byte("[fonts]\n")})
	name := filepath.Base(disk)
	if _, _, code := cli(t, s, "", "backup", "--host", "HV01", "--vm", "VM1", disk); code != 0 {
		t.Fatalf("backup exited %d", code)
	}
	if _, _, code := cli(t, s, "", "policy", "set", "p1", "--match-vm", "VM*", "--keep-last", "3"); code != 0 {
		t.Fatalf("policy set exited %d", code)
	}
	for _, tc := range []struct {
		args []string
		key  string // a field of the JSON
		text string // in the table
	}{
		{[]string{"snapshots"}, `"snapshots"`, "CONSISTENCY"},
		{[]string{"ls", "latest", name}, `"entries"`, "win.ini"},
		{[]string{"ls", "-R", "latest", name, `C:\`}, `"path": "/win.ini"`, "/win.ini"},
		{[]string{"find", "latest", name, "*.ini"}, `"path": "/win.ini"`, "/win.ini"},
		{[]string{"token", "list"}, `"tokens"`, "ROLE"},
		{[]string{"check"}, `"ok": true`, "repository is consistent"},
		{[]string{"policy", "list"}, `"policies"`, "--keep-last 3"},
		{[]string{"forget", "--dry-run"}, `"dry_run": true`, "p1: last snapshot"},
		{[]string{"prune"}, `"packs_deleted"`, "packs deleted"},
		{[]string{"jobs"}, `"jobs"`, "not scheduled"},
		{[]string{"stats"}, `"dedup_ratio"`, "dedup ratio"},
		{[]string{"repair", "index", "--server", s.url}, `"snapshots": 1`, "1 snapshots"},
		{[]string{"protect", "latest"}, `"protected": true`, "protected"},
		{[]string{"version"}, `"revision"`, "commit"},
	} {
		out, _, code := cli(t, s, "", append(tc.args, "--json")...)
		var v any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !strings.HasSuffix(out, "}\n") || !strings.Contains(out, tc.key) {
			t.Errorf("%v --json: exit %d, want JSON with %s:\n%s", tc.args, code, tc.key, out)
		}
		out, _, code = cli(t, s, "", tc.args...)
		if code != 0 || json.Valid([]byte(out)) || !strings.HasSuffix(out, "\n") || !strings.Contains(out, tc.text) {
			t.Errorf("%v: exit %d, want text with %q:\n%s", tc.args, code, tc.text, out)
		}
	}
}
