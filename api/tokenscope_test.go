package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
)

// storeRaw backs up one raw disk of host and returns the snapshot id.
func storeRaw(t *testing.T, s *testserver.Server, host string, data []byte) string {
	t.Helper()
	c := s.Client("")
	id := openSession(t, s, host, "VM1")
	if _, err := c.PutDisk(context.Background(), id, "d.raw", bytes.NewReader(data), int64(len(data)), "raw"); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rc.Snapshot
}

// A restore token created for a host sees and restores that host's
// snapshots only (a help-desk token for one host's VMs); an admin token
// cannot be scoped.
func TestRestoreTokenScopedToHost(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	mine, theirs := storeRaw(t, s, "HV01", random(1<<20)), storeRaw(t, s, "HV02", random(1<<20))
	_, tok, err := s.Tokens.Create("restore", "HV01")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := newRequest("GET", s.URL+"/api/v1/snapshots", tok)
	resp, err := httpDo(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Snapshots []struct{ ID, Host string } `json:"snapshots"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Snapshots) != 1 || list.Snapshots[0].ID != mine {
		t.Fatalf("listing for a HV01 restore token: %+v (%v), want only %s", list.Snapshots, err, mine)
	}
	for _, path := range []string{"/api/v1/snapshots/" + theirs, "/api/v1/snapshots/" + theirs + "/disks/d.raw?format=raw", "/api/v1/snapshots/" + theirs + "/disks/d.raw/fs/"} {
		if st, code := call(t, s, "GET", path, tok, nil); st != 404 || code != "UNKNOWN_SNAPSHOT" {
			t.Fatalf("GET %s with a HV01 restore token: %d %s, want 404 UNKNOWN_SNAPSHOT", path, st, code)
		}
	}
	if st, _ := call(t, s, "GET", "/api/v1/snapshots?host=HV02", tok, nil); st != 403 {
		t.Fatalf("listing HV02 with a HV01 restore token: %d, want 403", st)
	}
	if st, _ := call(t, s, "GET", "/api/v1/snapshots/"+mine+"/disks/d.raw?format=raw", tok, nil); st != 200 {
		t.Fatalf("restore of its own host: %d", st)
	}
	body, _ := json.Marshal(map[string]string{"role": "admin", "host": "HV01"})
	if st, code := call(t, s, "POST", "/api/v1/tokens", s.AdminToken, bytes.NewReader(body)); st != 400 || code != "BAD_REQUEST" {
		t.Fatalf("an admin token scoped to a host: %d %s, want 400 BAD_REQUEST", st, code)
	}
}

// The last admin token cannot be revoked: nobody could administer the
// server afterwards.
func TestLastAdminTokenStays(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	tokens, err := s.Tokens.List()
	if err != nil || len(tokens) != 1 {
		t.Fatalf("fixture: %d tokens (%v)", len(tokens), err)
	}
	if st, code := call(t, s, "DELETE", "/api/v1/tokens/"+tokens[0].ID, s.AdminToken, nil); st != 409 || code != "LAST_ADMIN_TOKEN" {
		t.Fatalf("revoke of the only admin token: %d %s, want 409 LAST_ADMIN_TOKEN", st, code)
	}
	second, plain, err := s.Tokens.Create("admin", "")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := call(t, s, "DELETE", "/api/v1/tokens/"+tokens[0].ID, plain, nil); st != 200 {
		t.Fatalf("revoke of one of two admin tokens: %d", st)
	}
	if st, code := call(t, s, "DELETE", "/api/v1/tokens/"+second.ID, plain, nil); st != 409 || code != "LAST_ADMIN_TOKEN" {
		t.Fatalf("revoke of the remaining admin token: %d %s", st, code)
	}
	resp, err := httpGet(s, "/api/v1/receipt-key")
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the revoked first admin token still works: %v", err)
	}
}
