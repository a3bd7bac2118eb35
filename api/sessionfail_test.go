package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// apiAnswer is a decoded answer: status, error code and message, and the
// body for successful answers.
type apiAnswer struct {
	status        int
	code, message string
	body          map[string]any
}

// callJSON sends a request with the admin token and decodes the answer.
func callJSON(t testing.TB, s *testserver.Server, method, path string, body io.Reader) apiAnswer {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	a := apiAnswer{status: resp.StatusCode, body: m}
	if e, ok := m["error"].(map[string]any); ok {
		a.code, _ = e["code"].(string)
		a.message, _ = e["message"].(string)
	}
	return a
}

// completeSettled completes a session, waiting out DISK_BUSY while the
// server notices a client that went away.
func completeSettled(t *testing.T, s *testserver.Server, id string) apiAnswer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := callJSON(t, s, "POST", "/api/v1/sessions/"+id+"/complete", nil)
		if a.code != "DISK_BUSY" || time.Now().After(deadline) {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listedSession returns the summary of session id in GET /api/v1/sessions.
func listedSession(t *testing.T, s *testserver.Server, id string) map[string]any {
	t.Helper()
	a := callJSON(t, s, "GET", "/api/v1/sessions", nil)
	list, _ := a.body["sessions"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m["id"] == id {
			return m
		}
	}
	return nil
}

// TestFailedDiskBlocksComplete: after an upload of disk1 fails, complete
// is refused with DISK_FAILED naming it, the session stays open, and a
// successful upload of disk1 lets it complete with both disks.
func TestFailedDiskBlocksComplete(t *testing.T) {
	dir := t.TempDir()
	raw := vhdtest.RandomRaw(t, dir, 6<<20, "rtr")
	good := readFile(t, vhdtest.Convert(t, raw, "vhdx"))
	corrupt := append([]byte(nil), good...)
	corrupt[findVHDXBAT(t, good)+7] = 0x7f
	s := testserver.Start(t, testserver.Options{})
	disk1 := "/disks/disk1.vhdx"
	for _, c := range []struct {
		name string
		fail func(t *testing.T, id string)
	}{
		{"truncated body", func(t *testing.T, id string) {
			rawPut(t, s, "/api/v1/sessions/"+id+disk1, len(good), good[:len(good)/2], true)
		}},
		{"corrupt vhdx", func(t *testing.T, id string) {
			if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+disk1, bytes.NewReader(corrupt)); a.code != "BAD_DISK_IMAGE" {
				t.Fatalf("corrupt upload: %d %s", a.status, a.code)
			}
		}},
		{"truncated vhdx", func(t *testing.T, id string) {
			if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+disk1, bytes.NewReader(good[:3<<20])); a.code != "TRUNCATED_IMAGE" {
				t.Fatalf("truncated upload: %d %s", a.status, a.code)
			}
		}},
		{"client gone", func(t *testing.T, id string) {
			ctx, cancel := context.WithCancel(context.Background())
			pr, pw := io.Pipe()
			go func() {
				pw.Write(good[:2<<20])
				cancel()
				pw.CloseWithError(io.ErrClosedPipe)
			}()
			if _, err := s.Client("").PutDisk(ctx, id, "disk1.vhdx", pr, int64(len(good)), ""); err == nil {
				t.Fatal("a cut upload succeeded")
			}
			// The client may be gone before the server's handler began the
			// upload: without declared disks the server learns of disk1 only
			// then, so wait for it to record the failure.
			deadline := time.Now().Add(10 * time.Second)
			for {
				sum := listedSession(t, s, id)
				if failed, _ := sum["failed"].([]any); len(failed) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the server never recorded the cut upload: %v", sum)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}},
		{"failure after a success", func(t *testing.T, id string) {
			if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+disk1, bytes.NewReader(good)); a.status != 200 {
				t.Fatalf("first upload: %d %s", a.status, a.code)
			}
			rawPut(t, s, "/api/v1/sessions/"+id+disk1, len(good), good[:len(good)/3], true)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := openSession(t, s, "HV01", "VM-"+strings.ReplaceAll(c.name, " ", "-"))
			if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/disk0.raw", bytes.NewReader(random(1<<20))); a.status != 200 {
				t.Fatalf("disk0: %d %s", a.status, a.code)
			}
			c.fail(t, id)
			for range 2 { // refused, and refused again: the session did not change state
				a := completeSettled(t, s, id)
				if a.status != http.StatusConflict || a.code != "DISK_FAILED" || !strings.Contains(a.message, "disk1.vhdx") {
					t.Fatalf("complete with a failed disk: %d %s %q, want 409 DISK_FAILED naming disk1.vhdx", a.status, a.code, a.message)
				}
			}
			sum := listedSession(t, s, id)
			if sum == nil {
				t.Fatal("the session is no longer listed after a refused complete")
			}
			if f, _ := sum["failed"].([]any); len(f) != 1 || f[0] != "disk1.vhdx" {
				t.Fatalf("session summary lists failed disks %v", sum["failed"])
			}
			if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+disk1, bytes.NewReader(good)); a.status != 200 {
				t.Fatalf("retried upload: %d %s", a.status, a.code)
			}
			a := callJSON(t, s, "POST", "/api/v1/sessions/"+id+"/complete", nil)
			if a.status != 200 {
				t.Fatalf("complete after the retry: %d %s %s", a.status, a.code, a.message)
			}
			if disks, _ := a.body["disks"].([]any); len(disks) != 2 {
				t.Fatalf("receipt lists %d disks, want 2", len(disks))
			}
			snap, _ := a.body["snapshot"].(string)
			if !bytes.Equal(restore(t, s, snap, "disk1.vhdx", "raw"), readFile(t, raw)) {
				t.Fatal("the retried disk restores differently")
			}
		})
	}
}

// TestFailedDiskThenAbort: a session refused for a failed disk can be
// aborted, and leaves no snapshot.
func TestFailedDiskThenAbort(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := openSession(t, s, "HV01", "VM1")
	if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/disk0.raw", bytes.NewReader(random(1<<20))); a.status != 200 {
		t.Fatalf("disk0: %d %s", a.status, a.code)
	}
	rawPut(t, s, "/api/v1/sessions/"+id+"/disks/disk1.raw", 4<<20, random(1<<20), true)
	if a := completeSettled(t, s, id); a.code != "DISK_FAILED" {
		t.Fatalf("complete: %d %s", a.status, a.code)
	}
	if a := callJSON(t, s, "POST", "/api/v1/sessions/"+id+"/abort", nil); a.status != 200 {
		t.Fatalf("abort: %d %s", a.status, a.code)
	}
	assertNoSnapshots(t, s)
}

// TestDeclaredDisks: a session that declared its disks completes only when
// each was uploaded, and refuses disks it did not declare.
func TestDeclaredDisks(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	a := callJSON(t, s, "POST", "/api/v1/sessions", strings.NewReader(`{"host":"HV01","vm":"VM1","disks":["a.raw","b.raw"]}`))
	if a.status != 201 {
		t.Fatalf("open: %d %s %s", a.status, a.code, a.message)
	}
	id, _ := a.body["id"].(string)
	sum := listedSession(t, s, id)
	info, _ := sum["info"].(map[string]any)
	if got := fmt.Sprint(info["disks"]); got != "[a.raw b.raw]" {
		t.Fatalf("session summary declares %s, want [a.raw b.raw]", got)
	}
	put := func(name string) apiAnswer {
		return callJSON(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/"+name, bytes.NewReader(random(256<<10)))
	}
	if a := callJSON(t, s, "POST", "/api/v1/sessions/"+id+"/complete", nil); a.code != "DISK_MISSING" ||
		a.status != http.StatusConflict || !strings.Contains(a.message, "a.raw") || !strings.Contains(a.message, "b.raw") {
		t.Fatalf("complete with nothing uploaded: %d %s %q, want 409 DISK_MISSING naming a.raw and b.raw", a.status, a.code, a.message)
	}
	if a := put("c.raw"); a.status != 400 || a.code != "DISK_NOT_DECLARED" {
		t.Fatalf("undeclared disk: %d %s, want 400 DISK_NOT_DECLARED", a.status, a.code)
	}
	if a := put("a.raw"); a.status != 200 {
		t.Fatalf("a.raw: %d %s", a.status, a.code)
	}
	a = callJSON(t, s, "POST", "/api/v1/sessions/"+id+"/complete", nil)
	if a.code != "DISK_MISSING" || a.status != http.StatusConflict || !strings.Contains(a.message, "b.raw") || strings.Contains(a.message, "a.raw") {
		t.Fatalf("complete without b.raw: %d %s %q, want 409 DISK_MISSING naming only b.raw", a.status, a.code, a.message)
	}
	if a := put("b.raw"); a.status != 200 {
		t.Fatalf("b.raw: %d %s", a.status, a.code)
	}
	a = callJSON(t, s, "POST", "/api/v1/sessions/"+id+"/complete", nil)
	if disks, _ := a.body["disks"].([]any); a.status != 200 || len(disks) != 2 {
		t.Fatalf("complete with every declared disk: %d %s, %d disks", a.status, a.code, len(disks))
	}
}

// TestDeclaredDisksValidated: the declared list is checked like disk names.
func TestDeclaredDisksValidated(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	many := make([]string, 257)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("d%d.vhdx", i))
	}
	for _, c := range []struct {
		name, disks, code string
	}{
		{"duplicate", `["a.vhdx","a.vhdx"]`, "BAD_REQUEST"},
		{"path separator", `["a.vhdx","../b.vhdx"]`, "BAD_NAME"},
		{"dot", `[".."]`, "BAD_NAME"},
		{"empty name", `[""]`, "BAD_NAME"},
		{"empty list", `[]`, "BAD_REQUEST"},
		{"too many", "[" + strings.Join(many, ",") + "]", "BAD_REQUEST"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := callJSON(t, s, "POST", "/api/v1/sessions", strings.NewReader(`{"host":"HV01","vm":"VM1","disks":`+c.disks+`}`))
			if a.status != 400 || a.code != c.code {
				t.Fatalf("disks %s: %d %s, want 400 %s", c.disks, a.status, a.code, c.code)
			}
		})
	}
	if n := len(s.Repo.Sessions()); n != 0 {
		t.Fatalf("%d sessions opened by refused requests", n)
	}
	// Without a declaration any disk may be uploaded.
	id := openSession(t, s, "HV01", "VM1")
	if a := callJSON(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/any.raw", bytes.NewReader(random(1000))); a.status != 200 {
		t.Fatalf("upload without a declaration: %d %s", a.status, a.code)
	}
}
