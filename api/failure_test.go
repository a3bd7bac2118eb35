package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
)

// assertNoSnapshots checks that nothing became a snapshot and the repository
// still holds only whole, indexed packs.
func assertNoSnapshots(t *testing.T, s *testserver.Server) {
	t.Helper()
	if n := snapshotCount(t, s); n != 0 {
		t.Fatalf("%d snapshots exist after a failed backup", n)
	}
}

func TestAbort(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := openSession(t, s, "HV01", "VM1")
	if _, err := s.Client("").PutDisk(context.Background(), id, "d.raw", bytes.NewReader(random(2<<20)), 2<<20, ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := call(t, s, "POST", "/api/v1/sessions/"+id+"/abort", s.AdminToken, nil); st != 200 {
		t.Fatalf("abort: %d", st)
	}
	if st, code := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil); st != 409 || code != "SESSION_ABORTED" {
		t.Fatalf("complete after abort: %d %s", st, code)
	}
	if st, code := call(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/e.raw", s.AdminToken, strings.NewReader("x")); st != 409 || code != "SESSION_ABORTED" {
		t.Fatalf("upload after abort: %d %s", st, code)
	}
	assertNoSnapshots(t, s)
}

func TestRequestErrors(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := openSession(t, s, "HV01", "VM1")
	for _, c := range []struct {
		name, method, path, token string
		body                      string
		status                    int
		code                      string
	}{
		{"no token", "GET", "/api/v1/snapshots", "", "", 401, "UNAUTHORIZED"},
		{"bad token", "GET", "/api/v1/snapshots", "svt_000000000000_00", "", 401, "UNAUTHORIZED"},
		{"garbage token", "POST", "/api/v1/sessions", "garbage", `{"host":"a","vm":"b"}`, 401, "UNAUTHORIZED"},
		{"unknown session put", "PUT", "/api/v1/sessions/nosuchsession/disks/d.raw", s.AdminToken, "data", 404, "UNKNOWN_SESSION"},
		{"unknown session complete", "POST", "/api/v1/sessions/nosuchsession/complete", s.AdminToken, "", 404, "UNKNOWN_SESSION"},
		{"unknown session abort", "POST", "/api/v1/sessions/nosuchsession/abort", s.AdminToken, "", 404, "UNKNOWN_SESSION"},
		{"traversal disk name", "PUT", "/api/v1/sessions/" + id + "/disks/..%2Fx", s.AdminToken, "data", 400, "BAD_NAME"},
		{"dot disk name", "PUT", "/api/v1/sessions/" + id + "/disks/..", s.AdminToken, "data", 400, "BAD_NAME"},
		{"control char name", "PUT", "/api/v1/sessions/" + id + "/disks/a%01b", s.AdminToken, "data", 400, "BAD_NAME"},
		{"bad host", "POST", "/api/v1/sessions", s.AdminToken, `{"host":"../HV01","vm":"VM1"}`, 400, "BAD_NAME"},
		{"garbage json", "POST", "/api/v1/sessions", s.AdminToken, `{not json`, 400, "BAD_REQUEST"},
		{"bad backup type", "POST", "/api/v1/sessions", s.AdminToken, `{"host":"a","vm":"b","backup_type":"weekly"}`, 400, "BAD_REQUEST"},
		{"huge json", "POST", "/api/v1/sessions", s.AdminToken, `{"host":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "BODY_TOO_LARGE"},
		{"bad format", "PUT", "/api/v1/sessions/" + id + "/disks/d.raw?format=qcow2", s.AdminToken, "data", 400, "BAD_REQUEST"},
		{"complete with no disks", "POST", "/api/v1/sessions/" + id + "/complete", s.AdminToken, "", 400, "NO_DISKS"},
		{"unknown snapshot", "GET", "/api/v1/snapshots/nosuch", s.AdminToken, "", 404, "UNKNOWN_SNAPSHOT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			st, code := call(t, s, c.method, c.path, c.token, body)
			if st != c.status || code != c.code {
				t.Fatalf("%s %s: %d %s, want %d %s", c.method, c.path, st, code, c.status, c.code)
			}
		})
	}
	assertNoSnapshots(t, s)
}

func TestUploadAfterComplete(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s.Client("")
	id := openSession(t, s, "HV01", "VM1")
	if _, err := c.PutDisk(context.Background(), id, "d.raw", bytes.NewReader(random(1<<20)), 1<<20, ""); err != nil {
		t.Fatal(err)
	}
	rc1, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st, code := call(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/e.raw", s.AdminToken, strings.NewReader("late")); st != 409 || code != "SESSION_COMPLETED" {
		t.Fatalf("upload after complete: %d %s", st, code)
	}
	rc2, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatalf("second complete: %v", err)
	}
	if rc1.Signature != rc2.Signature || rc1.Snapshot != rc2.Snapshot {
		t.Fatal("complete is not idempotent: a second call returned another receipt")
	}
	if n := snapshotCount(t, s); n != 1 {
		t.Fatalf("%d snapshots after two completes, want 1", n)
	}
}

// rawPut writes a PUT with the given Content-Length but another body size,
// over a raw connection, and returns the status line (or "" if none came).
func rawPut(t *testing.T, s *testserver.Server, path string, declared int, body []byte, closeEarly bool) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", path, s.AdminToken, declared)
	conn.Write(body)
	if closeEarly {
		conn.(*net.TCPConn).CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

func TestBodyShorterThanContentLength(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := openSession(t, s, "HV01", "VM1")
	rawPut(t, s, "/api/v1/sessions/"+id+"/disks/d.raw", 8<<20, random(3<<20), true)
	// The disk must not count: completing now is refused, naming it.
	if st, code := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil); st != 409 || code != "DISK_FAILED" {
		t.Fatalf("complete after a short body: %d %s, want 409 DISK_FAILED", st, code)
	}
	assertNoSnapshots(t, s)
}

func TestBodyLongerThanContentLength(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := openSession(t, s, "HV01", "VM1")
	data := random(1 << 20)
	// The server reads exactly Content-Length bytes; what follows is not
	// part of the disk, and the stream hash in the answer says what was
	// received, so the agent sees the mismatch.
	status := rawPut(t, s, "/api/v1/sessions/"+id+"/disks/d.raw", len(data)-1000, data, false)
	if !strings.Contains(status, "200") {
		t.Fatalf("status %q", status)
	}
	rc, err := s.Client("").Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Disks[0].StreamBytes != int64(len(data)-1000) {
		t.Fatalf("server recorded %d bytes, the declared length was %d", rc.Disks[0].StreamBytes, len(data)-1000)
	}
}

func TestClientDisconnectMidStream(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s.Client("")
	id := openSession(t, s, "HV01", "VM1")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		pw.Write(random(4 << 20))
		cancel()
		pw.CloseWithError(io.ErrClosedPipe)
	}()
	if _, err := c.PutDisk(ctx, id, "d.raw", pr, 64<<20, ""); err == nil {
		t.Fatal("upload of a cut stream succeeded")
	}
	// The server notices the disconnect and drops the partial disk.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, code := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil)
		if st == 409 && code == "DISK_FAILED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("complete after disconnect: %d %s, want 409 DISK_FAILED", st, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	assertNoSnapshots(t, s)
	// The session is still usable: a full upload now succeeds.
	data := random(2 << 20)
	if _, err := c.PutDisk(context.Background(), id, "d.raw", bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := restore(t, s, rc.Snapshot, "d.raw", "raw"); !bytes.Equal(got, data) {
		t.Fatal("restore after a retried upload differs")
	}
}

func TestSessionExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := testserver.Start(t, testserver.Options{Now: func() time.Time { return clock() }, Lease: time.Minute})
	id := openSession(t, s, "HV01", "VM1")
	if _, err := s.Client("").PutDisk(context.Background(), id, "d.raw", bytes.NewReader(random(1<<20)), 1<<20, ""); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)
	if n := s.Repo.ExpireSessions(); n != 0 {
		t.Fatalf("expired %d sessions inside the lease", n)
	}
	now = now.Add(2 * time.Minute)
	if n := s.Repo.ExpireSessions(); n != 1 {
		t.Fatalf("expired %d sessions past the lease, want 1", n)
	}
	if st, code := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil); st != 410 || code != "SESSION_EXPIRED" {
		t.Fatalf("complete of an expired session: %d %s", st, code)
	}
	assertNoSnapshots(t, s)
}
