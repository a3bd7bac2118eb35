package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

// TestLocalProblems: a disk that is a directory, missing or unreadable
// fails before a session is opened, says what is wrong with the file and
// is not called a network error: exit 3, as documented.
func TestLocalProblems(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	good := filepath.Join(dir, "good.raw")
	randomFile(t, good, 1<<20)
	locked := filepath.Join(dir, "locked.raw")
	os.WriteFile(locked, []byte("x"), 0o000)
	cases := map[string]string{dir: "is a directory", filepath.Join(dir, "nosuch.vhdx"): "no such file"}
	if f, err := os.Open(locked); err == nil {
		f.Close() // root reads everything: a file whose read fails instead
		if _, err := os.Stat("/proc/self/mem"); err == nil {
			cases["/proc/self/mem"] = "input/output error"
		}
	} else {
		cases[locked] = "permission denied"
	}
	if _, err := os.Stat(os.DevNull); err == nil {
		cases[os.DevNull] = "not a regular file"
	}
	for disk, want := range cases {
		_, errOut, code := cli(t, s, "", "backup", "--host", "HV01", "--vm", "VM1", good, disk)
		if code != exitRefused || !strings.Contains(errOut, want) || strings.Contains(errOut, "network") || strings.Contains(errOut, "session opened") {
			t.Errorf("backup of %s: exit %d, want %d saying %q:\n%s", disk, code, exitRefused, want, errOut)
		}
	}
	if n := checkAllSnapshots(t, s, nil); n != 0 {
		t.Fatalf("%d snapshots", n)
	}
}

// TestExitCodes: each documented exit code is what the case it documents
// returns (2, 3, 4 and 5 have their tests too: TestHelp, TestServerFlag,
// TestSnapshotArguments, TestRestoreDamagedPack).
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	snap, disk, _ := backupOne(t, s, dir, 2<<20)
	key := make([]byte, 32)
	rand.Read(key)
	for _, tc := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"snapshots", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"restore", snap, disk, "-o", filepath.Join(dir, "nosuch", "x.raw")}, exitFailure, "no such file"},
		{[]string{"restore", snap, "nosuch.raw"}, exitRefused, "UNKNOWN_DISK"},
		{[]string{"snapshots", "--token", "svt_not_a_token"}, exitRefused, "UNAUTHORIZED"},
		{[]string{"backup", "--host", "HV01", "--vm", "VM1", "--receipt-key", hex.EncodeToString(key), filepath.Join(dir, disk)}, exitMismatch, "verification failed"},
	} {
		_, errOut, code := cli(t, s, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.say) {
			t.Errorf("%v: exit %d, want %d saying %q:\n%s", tc.args, code, tc.code, tc.say, errOut)
		}
	}

	// check finds a missing pack: exit 1.
	packs, _ := filepath.Glob(filepath.Join(dir, "data", "packs", "*", "*"))
	for _, p := range packs {
		os.Remove(p)
	}
	if out, _, code := cli(t, s, "", "check", "--read-data", "all"); code != exitFailure || !strings.Contains(out, "problem") {
		t.Errorf("check of a repository without packs: exit %d:\n%s", code, out)
	}
}

// TestInterruptedBackup: SIGINT during an upload aborts the session and
// exits 130, saying it was interrupted.
func TestInterruptedBackup(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	big := filepath.Join(dir, "big.raw")
	randomFile(t, big, 128<<20)
	cmd := exec.Command(binary, "backup", "--host", "HV01", "--vm", "VM1", big)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitUploading(t, s)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != exitInterrupted || !strings.HasSuffix(stderr.String(), "shadowvault: interrupted\n") {
		t.Fatalf("interrupted backup: %v\n%s", err, stderr.String())
	}
	var list apiv1.SessionList
	if err := s.client().DoJSON(context.Background(), "GET", "/api/v1/sessions", nil, &list); err != nil || len(list.Sessions) != 0 {
		t.Fatalf("sessions after the interrupt: %v %+v", err, list.Sessions)
	}
}

func waitUploading(t *testing.T, s *server) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list apiv1.SessionList
		if err := s.client().DoJSON(context.Background(), "GET", "/api/v1/sessions", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Sessions) > 0 && len(list.Sessions[0].Uploading) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var logLine = regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN|ERROR) msg=`)

// TestOneLogFormat: what every verb writes on stderr is log lines in one
// format, and a failure's last line "shadowvault: ..." (a pipe: no
// progress line, no carriage return).
func TestOneLogFormat(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	disk := filepath.Join(dir, "d.raw")
	randomFile(t, disk, 3<<20)
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"backup", "--host", "HV01", "--vm", "VM1", disk}, true},
		{[]string{"backup", "--host", "HV01", "--vm", "VM1", "--incremental", disk}, true},
		{[]string{"restore", "latest", "d.raw", "-o", filepath.Join(dir, "r.raw")}, true},
		{[]string{"restore", "latest", "nosuch.raw"}, false},
		{[]string{"repair", "index", "--repo", filepath.Join(dir, "data")}, false}, // the index is locked
		{[]string{"backup", "--host", "HV01", "--vm", "VM1", dir}, false},
	} {
		_, errOut, code := cli(t, s, "", tc.args...)
		if (code == 0) != tc.ok || strings.Contains(errOut, "\r") {
			t.Errorf("%v: exit %d:\n%q", tc.args, code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if !tc.ok {
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "shadowvault: ") {
				t.Errorf("%v: the last line is %q", tc.args, last)
			}
			lines = lines[:len(lines)-1]
		}
		for _, l := range lines {
			if l != "" && !logLine.MatchString(l) {
				t.Errorf("%v: not a log line: %q", tc.args, l)
			}
		}
	}
}
