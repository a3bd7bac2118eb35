package api_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
)

// rejectedDisk uploads bad to a new session and expects 400 with code; then
// complete must be refused and no snapshot appear. Then the session is
// aborted (abort true), or completed with good uploaded under the same
// name, whose receipt it returns. snapshots counts the snapshots the
// server holds and is kept up to date.
func rejectedDisk(t *testing.T, s *testserver.Server, name, query string, bad []byte, code string, good []byte, abort bool, snapshots *int) *receipt.Receipt {
	t.Helper()
	id := openSession(t, s, "HV01", "VM1")
	path := "/api/v1/sessions/" + id + "/disks/" + name
	if st, got := call(t, s, "PUT", path+query, s.AdminToken, bytes.NewReader(bad)); st != 400 || got != code {
		t.Fatalf("PUT: %d %s, want 400 %s", st, got, code)
	}
	if st, _ := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil); st < 400 || st > 499 {
		t.Fatalf("complete after the rejected disk: %d, want 4xx", st)
	}
	if n := snapshotCount(t, s); n != *snapshots {
		t.Fatalf("%d snapshots after a rejected disk, want %d", n, *snapshots)
	}
	if abort {
		if st, _ := call(t, s, "POST", "/api/v1/sessions/"+id+"/abort", s.AdminToken, nil); st != 200 {
			t.Fatalf("abort: %d", st)
		}
		if n := snapshotCount(t, s); n != *snapshots {
			t.Fatalf("%d snapshots after abort, want %d", n, *snapshots)
		}
		return nil
	}
	if st, got := call(t, s, "PUT", path, s.AdminToken, bytes.NewReader(good)); st != 200 {
		t.Fatalf("PUT of the good disk: %d %s", st, got)
	}
	rc, err := s.Client("").Complete(context.Background(), id)
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	*snapshots++
	return &rc
}
