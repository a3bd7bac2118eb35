package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/receipt"
)

// TestBackupConsistencyDefault: without --vss no VSS writer prepared the
// guest, so the agent records a crash-consistent backup and the receipt
// never allows log truncation, unless the caller says the guest was
// frozen (--consistency application).
func TestBackupConsistencyDefault(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	disk := filepath.Join(dir, "a.raw")
	randomFile(t, disk, 1<<20)
	for _, tc := range []struct {
		args     []string
		cons     receipt.Consistency
		truncate bool
	}{
		{nil, "crash", false},
		{[]string{"--type", "full"}, "crash", false},
		{[]string{"--consistency", "application"}, "application", true},
		{[]string{"--type", "copy"}, "crash", false},
		{[]string{"--type", "copy", "--consistency", "application"}, "application", false},
		{[]string{"--consistency", "crash"}, "crash", false},
	} {
		args := append(append([]string{"backup", "--host", "HV01", "--vm", "VM1"}, tc.args...), disk)
		out, code := output(t, s, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		var rc receipt.Receipt
		if err := json.Unmarshal([]byte(out), &rc); err != nil {
			t.Fatalf("%v: %v in %q", tc.args, err, out)
		}
		if rc.Consistency != tc.cons || rc.TruncateLogs != tc.truncate {
			t.Errorf("%v: consistency %q truncate_logs %v, want %q %v", tc.args, rc.Consistency, rc.TruncateLogs, tc.cons, tc.truncate)
		}
	}
	// A consistency the agent cannot stand behind is a usage error, before
	// any session is opened.
	for _, bad := range [][]string{
		{"--consistency", "bogus"},
		{"--type", "incremental"},
		{"--vss", "--consistency", "crash"}, // VSS always runs the writers
	} {
		args := append(append([]string{"backup", "--host", "HV01", "--vm", "VM2"}, bad...), disk)
		if _, code := output(t, s, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
}

func TestBackupConsistencyResolve(t *testing.T) {
	for _, tc := range []struct {
		vss  bool
		flag string
		want receipt.Consistency
		ok   bool
	}{
		{false, "", "crash", true},
		{true, "", "application", true},
		{false, "application", "application", true},
		{false, "crash", "crash", true},
		{true, "application", "application", true},
		{true, "crash", "", false},
		{false, "Application", "", false},
	} {
		got, err := backupConsistency(tc.vss, tc.flag)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("vss %v --consistency %q: %q, %v; want %q (ok %v)", tc.vss, tc.flag, got, err, tc.want, tc.ok)
		}
	}
}

// TestVSSUploadArgs: the upload step that diskshadow EXECs asks for an
// application-consistent backup (the writers ran) of the same type.
func TestVSSUploadArgs(t *testing.T) {
	up := vssUploadArgs(vssUpload{server: "https://b:8420", host: "HV01", vm: "SQL01", typ: "copy", parallel: 2, retries: 2, hints: true})
	s := strings.Join(up, " ")
	for _, want := range []string{"--type copy", "--consistency application", "--host HV01", "--vm SQL01", "--server https://b:8420"} {
		if !strings.Contains(s, want) {
			t.Errorf("upload args %q lack %q", s, want)
		}
	}
	if strings.Contains(s, "--token") || strings.Contains(s, "svt_") {
		t.Error("the token must not be in the upload step")
	}
}
