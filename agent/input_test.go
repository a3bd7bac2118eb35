package agent_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
)

// TestLocalInputFailsBeforeAnyRequest: a disk that is a directory, missing
// or unreadable, and a bad changed-ranges or writer-metadata file, are
// ErrInput and never reach the server: no session is opened.
func TestLocalInputFailsBeforeAnyRequest(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer srv.Close()
	good := disk(t, "good.raw", seeded(1, 4096))
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "locked.raw")
	if err := os.WriteFile(unreadable, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	badJSON := filepath.Join(dir, "changes.json")
	os.WriteFile(badJSON, []byte("not json"), 0o600)
	cases := []struct {
		name string
		o    agent.BackupOptions
		want string
	}{
		{"directory", agent.BackupOptions{Disks: []string{dir}}, "is a directory"},
		{"missing", agent.BackupOptions{Disks: []string{filepath.Join(dir, "nosuch.vhdx")}}, "no such file"},
		{"twice", agent.BackupOptions{Disks: []string{good, good}}, "two disks named"},
		{"changed ranges", agent.BackupOptions{Disks: []string{good}, Incremental: true, ChangedRanges: badJSON}, "changed ranges"},
		{"writer metadata", agent.BackupOptions{Disks: []string{good}, WriterMetadata: filepath.Join(dir, "nosuch.cab")}, "writer metadata"},
	}
	type tcase = struct {
		name string
		o    agent.BackupOptions
		want string
	}
	if f, err := os.Open(unreadable); err == nil {
		f.Close() // root reads everything: a file whose read fails instead
		if _, err := os.Stat("/proc/self/mem"); err == nil {
			cases = append(cases, tcase{"unreadable", agent.BackupOptions{Disks: []string{"/proc/self/mem"}}, "input/output error"})
		}
	} else {
		cases = append(cases, tcase{"unreadable", agent.BackupOptions{Disks: []string{unreadable}}, "permission denied"})
	}
	if _, err := os.Stat(os.DevNull); err == nil {
		cases = append(cases, tcase{"device", agent.BackupOptions{Disks: []string{os.DevNull}}, "not a regular file"})
	}
	for _, tc := range cases {
		tc.o.Host, tc.o.VM, tc.o.Type, tc.o.Log = "HV01", "VM1", "full", quiet
		_, err := agent.Backup(context.Background(), &agent.Client{Server: srv.URL, Token: "t"}, tc.o)
		if !errors.Is(err, agent.ErrInput) || errors.Is(err, agent.ErrNetwork) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInput saying %q", tc.name, err, tc.want)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
}

// TestUnreachable: a refused connection is an *UnreachableError, a network
// error whose text names the server once and says why in a few words.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &agent.Client{Server: "http://" + addr, Token: "t"}
	_, err = c.ReceiptKey(context.Background())
	var ue *agent.UnreachableError
	if !errors.As(err, &ue) || !errors.Is(err, agent.ErrNetwork) {
		t.Fatalf("%v (%T), want an *UnreachableError", err, err)
	}
	want := "server not reachable at http://" + addr + ": connection refused"
	if err.Error() != want {
		t.Fatalf("%q, want %q", err, want)
	}
}
