package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/receipt"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shadowvault-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "shadowvault")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a shadowvault serve process.
type server struct {
	cmd   *exec.Cmd
	url   string
	token string
	dir   string
	logs  *syncBuffer
}

// syncBuffer is the server's stderr as read so far; a goroutine writes it
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var listenRE = regexp.MustCompile(`listen=(https?://[0-9.:]+)`)

// serverArgs are extra flags for the next startServer.
var serverArgs []string

func startServer(t *testing.T, dir string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--repo", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0"}, serverArgs...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, dir: dir, logs: &syncBuffer{}}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logs.WriteString(sc.Text() + "\n")
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case s.url = <-found:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", s.logs)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "data", "admin.token"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token has mode %v, want 0600", fi.Mode().Perm())
	}
	s.token = strings.TrimSpace(string(tok))
	t.Cleanup(func() { s.kill() })
	return s
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
	}
}

func (s *server) client() *agent.Client { return &agent.Client{Server: s.url, Token: s.token} }

func randomFile(t *testing.T, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	copy(b[n/2:], make([]byte, n/8))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkAllSnapshots restores every listed snapshot and compares it with the
// data backed up under that disk name.
func checkAllSnapshots(t *testing.T, s *server, want map[string][]byte) int {
	t.Helper()
	var list struct {
		Snapshots []struct {
			ID    string
			Disks []struct{ Name string }
		}
	}
	if err := s.client().Do(context.Background(), "GET", "/api/v1/snapshots", nil, 0, &list); err != nil {
		t.Fatal(err)
	}
	for _, snap := range list.Snapshots {
		for _, d := range snap.Disks {
			var buf bytes.Buffer
			if _, err := s.client().Restore(context.Background(), snap.ID, d.Name, "raw", &buf, nil); err != nil {
				t.Fatalf("snapshot %s disk %s does not restore: %v", snap.ID, d.Name, err)
			}
			if !bytes.Equal(buf.Bytes(), want[d.Name]) {
				t.Fatalf("snapshot %s disk %s restores differently", snap.ID, d.Name)
			}
		}
	}
	return len(list.Snapshots)
}

func TestKillMidUpload(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	want := map[string][]byte{"a.raw": randomFile(t, filepath.Join(dir, "a.raw"), 6<<20)}
	if code := run(t, s, "backup", "--host", "HV01", "--vm", "VM1", filepath.Join(dir, "a.raw")); code != 0 {
		t.Fatalf("first backup exited %d", code)
	}
	c := s.client()
	id, err := c.OpenSession(context.Background(), apiv1.SessionRequest{Host: "HV01", VM: "VM1", BackupType: "full", Consistency: "application"})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := c.PutDisk(context.Background(), id, "b.raw", pr, 256<<20, "")
		done <- err
	}()
	chunk := make([]byte, 1<<20)
	for i := 0; i < 40; i++ {
		rand.Read(chunk)
		pw.Write(chunk)
	}
	s.kill()
	pw.CloseWithError(io.ErrClosedPipe)
	if err := <-done; err == nil {
		t.Fatal("upload to a killed server succeeded")
	}
	s2 := startServer(t, dir)
	if n := checkAllSnapshots(t, s2, want); n != 1 {
		t.Fatalf("%d snapshots after the kill, want 1", n)
	}
	if _, err := s2.client().Complete(context.Background(), id); err == nil {
		t.Fatal("the killed session completed after the restart")
	}
	want["c.raw"] = randomFile(t, filepath.Join(dir, "c.raw"), 3<<20)
	if code := run(t, s2, "backup", "--host", "HV01", "--vm", "VM1", filepath.Join(dir, "c.raw")); code != 0 {
		t.Fatalf("backup after restart exited %d", code)
	}
	if n := checkAllSnapshots(t, s2, want); n != 2 {
		t.Fatalf("%d snapshots, want 2", n)
	}
}

// TestKillMidComplete kills the server at several moments after a complete
// was sent. Whatever the moment, a receipt the client got names a snapshot
// that exists after the restart, and every listed snapshot restores.
func TestKillMidComplete(t *testing.T) {
	dir := t.TempDir()
	want := map[string][]byte{}
	receipts := 0
	defer func() {
		if receipts == 0 {
			t.Error("no complete finished before its kill, even 2s later: the receipt path was not exercised")
		}
	}()
	for i, delay := range []time.Duration{0, 200 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 80 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second} {
		s := startServer(t, dir)
		name := fmt.Sprintf("d%d.raw", i)
		want[name] = randomFile(t, filepath.Join(dir, name), 20<<20)
		c := s.client()
		id, err := c.OpenSession(context.Background(), apiv1.SessionRequest{Host: "HV01", VM: "VM1", BackupType: "full", Consistency: "application"})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(filepath.Join(dir, name))
		_, err = c.PutDisk(context.Background(), id, name, f, int64(len(want[name])), "")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			rc  receipt.Receipt
			err error
		}
		res := make(chan result, 1)
		go func() {
			rc, err := c.Complete(context.Background(), id)
			res <- result{rc, err}
		}()
		time.Sleep(delay)
		s.kill()
		r := <-res
		s2 := startServer(t, dir)
		checkAllSnapshots(t, s2, want)
		if r.err == nil {
			var m map[string]any
			if err := s2.client().Do(context.Background(), "GET", "/api/v1/snapshots/"+r.rc.Snapshot, nil, 0, &m); err != nil {
				t.Fatalf("kill after %v: the client holds a receipt for snapshot %s, which does not exist: %v", delay, r.rc.Snapshot, err)
			}
		}
		t.Logf("kill %v after complete: receipt=%v", delay, r.err == nil)
		receipts += map[bool]int{true: 1}[r.err == nil]
		s2.kill()
	}
}

// run runs a client command against s and returns its exit code.
func run(t *testing.T, s *server, args ...string) int {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Logf("%v: %s", args, out)
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}
