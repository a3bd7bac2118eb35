package repo_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

// leaseClock is a settable clock for session leases.
type leaseClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *leaseClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *leaseClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// post sends an admin POST and returns the status.
func post(t *testing.T, s *testserver.Server, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func listed(s *testserver.Server, id string) bool {
	for _, sum := range s.Repo.Sessions() {
		if sum.ID == id {
			return true
		}
	}
	return false
}

// TestSessionsExpireInEveryState: an idle session expires after the lease
// whether it is open or failed (a complete that failed); one with an
// upload in flight does not. Once expired, nothing holds up a rebuild.
func TestSessionsExpireInEveryState(t *testing.T) {
	const lease = 5 * time.Second
	for _, c := range []struct {
		name string
		// prepare brings the session into its state; the returned func, if
		// any, ends what it started.
		prepare func(t *testing.T, s *testserver.Server, fb *faulty.Backend, sess *repo.Session) func()
		expires bool
	}{
		{"open", func(t *testing.T, s *testserver.Server, fb *faulty.Backend, sess *repo.Session) func() { return nil }, true},
		{"failed", func(t *testing.T, s *testserver.Server, fb *faulty.Backend, sess *repo.Session) func() {
			fb.FailPutsFrom(fb.Calls(faulty.OpPut)+1, backend.ErrPermission)
			defer fb.Heal()
			if _, err := sess.Complete(context.Background()); !errors.Is(err, repo.ErrSessionFailed) {
				t.Fatalf("complete on a failing backend: %v, want ErrSessionFailed", err)
			}
			return nil
		}, true},
		{"uploading", func(t *testing.T, s *testserver.Server, fb *faulty.Backend, sess *repo.Session) func() {
			up, err := sess.BeginDisk("e.raw")
			if err != nil {
				t.Fatal(err)
			}
			return func() { up.Cancel(errors.New("test done")) }
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &leaseClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
			fb := faulty.New(mem.New())
			s := testserver.Start(t, testserver.Options{Backend: fb, Now: clk.now, Lease: lease})
			cl := s.Client("")
			id, err := cl.OpenSession(context.Background(), apiv1.SessionRequest{Host: "HV01", VM: "VM1", BackupType: "full", Consistency: "application"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.PutDisk(context.Background(), id, "d.raw", bytes.NewReader(bytes.Repeat([]byte("session lease "), 150000)), 150000*14, ""); err != nil {
				t.Fatal(err)
			}
			sess, err := s.Repo.Session(id)
			if err != nil {
				t.Fatal(err)
			}
			end := c.prepare(t, s, fb, sess)
			clk.advance(lease / 2)
			s.Repo.ExpireSessions()
			if !listed(s, id) {
				t.Fatal("the session expired inside its lease")
			}
			clk.advance(5 * lease)
			s.Repo.ExpireSessions()
			if got := !listed(s, id); got != c.expires {
				t.Fatalf("%s session idle past the lease: expired %v, want %v", c.name, got, c.expires)
			}
			if end != nil {
				end()
			}
			if !c.expires {
				return
			}
			if _, err := s.Repo.Session(id); !errors.Is(err, repo.ErrSessionExpired) {
				t.Fatalf("expired session: %v, want ErrSessionExpired", err)
			}
			if st := post(t, s, "/api/v1/repair/index"); st != http.StatusOK {
				t.Fatalf("repair index after the session expired: %d", st)
			}
		})
	}
}
