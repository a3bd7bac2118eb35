package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

// openRaw opens a session for host and VM with token tok and returns the
// status and the decoded error (or the session's id in Session).
func openRaw(t *testing.T, s *testserver.Server, tok, host, vm string) (int, apiv1.Error) {
	t.Helper()
	body, _ := json.Marshal(apiv1.SessionRequest{Host: host, VM: vm, BackupType: "full", Consistency: "crash"})
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/sessions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusCreated {
		var sess apiv1.Session
		if err := json.Unmarshal(data, &sess); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, apiv1.Error{Session: sess.ID}
	}
	var eb apiv1.ErrorBody
	if err := json.Unmarshal(data, &eb); err != nil {
		t.Fatalf("%d: %s", resp.StatusCode, data)
	}
	return resp.StatusCode, eb.Error
}

func wantConflict(t *testing.T, s *testserver.Server, tok, host, vm, open string) {
	t.Helper()
	st, e := openRaw(t, s, tok, host, vm)
	if st != http.StatusConflict || e.Code != apiv1.CodeSessionConflict || e.Session != open || !strings.Contains(e.Message, open) {
		t.Fatalf("second session of %s/%s: %d %+v, want 409 SESSION_CONFLICT naming %s", host, vm, st, e, open)
	}
}

func wantOpen(t *testing.T, s *testserver.Server, tok, host, vm string) string {
	t.Helper()
	st, e := openRaw(t, s, tok, host, vm)
	if st != http.StatusCreated {
		t.Fatalf("session of %s/%s: %d %+v, want 201", host, vm, st, e)
	}
	return e.Session
}

// TestSessionConflict: a host and VM have one session in flight at most,
// whoever opens it; the slot is free again once the session completes,
// is aborted or expires (also before the janitor sweeps it), and
// completing again still answers the receipt.
func TestSessionConflict(t *testing.T) {
	clk := &leaseClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	const lease = time.Minute
	s := testserver.Start(t, testserver.Options{Now: clk.now, Lease: lease})
	_, agentTok, err := s.Tokens.Create(apiv1.RoleAgent, "HV01")
	if err != nil {
		t.Fatal(err)
	}
	admin := s.AdminToken
	ctx := context.Background()

	first := wantOpen(t, s, admin, "HV01", "VM1")
	wantConflict(t, s, admin, "HV01", "VM1", first)
	wantConflict(t, s, agentTok, "HV01", "VM1", first) // another token, another role
	other := wantOpen(t, s, agentTok, "HV01", "VM2")   // another VM
	wantOpen(t, s, admin, "HV02", "VM1")               // another host

	// Completed: the slot is free, and the receipt is answered again.
	if _, err := s.Client("").PutDisk(ctx, first, "d.raw", bytes.NewReader(random(70000)), 70000, "raw"); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Client("").Complete(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	next := wantOpen(t, s, agentTok, "HV01", "VM1")
	if again, err := s.Client("").Complete(ctx, first); err != nil || again.Snapshot != rc.Snapshot || again.Signature != rc.Signature {
		t.Fatalf("complete again after the slot was taken: %+v %v, want the receipt %s", again, err, rc.Snapshot)
	}
	// Aborted: free.
	if err := s.Client(agentTok).Abort(ctx, next); err != nil {
		t.Fatal(err)
	}
	held := wantOpen(t, s, admin, "HV01", "VM1")

	// Expired but not yet swept: the next open expires it rather than
	// being held up until the janitor comes by.
	wantConflict(t, s, admin, "HV01", "VM1", held)
	clk.advance(lease / 2)
	wantConflict(t, s, admin, "HV01", "VM1", held)
	clk.advance(lease)
	retry := wantOpen(t, s, agentTok, "HV01", "VM1")
	var ae *agent.APIError
	if _, err := s.Client("").PutDisk(ctx, held, "d.raw", bytes.NewReader(random(1000)), 1000, "raw"); !errors.As(err, &ae) || ae.Code != apiv1.CodeSessionExpired {
		t.Fatalf("the session that lost its slot: %v, want SESSION_EXPIRED", err)
	}
	// An upload in flight keeps a session live past its lease.
	if err := s.Client(agentTok).Abort(ctx, retry); err != nil {
		t.Fatal(err)
	}
	busy := wantOpen(t, s, admin, "HV01", "VM3")
	sess, err := s.Repo.Session(busy)
	if err != nil {
		t.Fatal(err)
	}
	up, err := sess.BeginDisk("d.raw")
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(5 * lease)
	wantConflict(t, s, admin, "HV01", "VM3", busy)
	up.Cancel(errors.New("test done"))
	_ = other
}

// TestSessionConflictFailedComplete: a session whose complete failed
// holds its slot (it can only be aborted) until it is aborted.
func TestSessionConflictFailedComplete(t *testing.T) {
	fb := faulty.New(mem.New())
	s := testserver.Start(t, testserver.Options{Backend: fb})
	ctx := context.Background()
	id := wantOpen(t, s, s.AdminToken, "HV01", "VM1")
	if _, err := s.Client("").PutDisk(ctx, id, "d.raw", bytes.NewReader(random(300<<10)), 300<<10, "raw"); err != nil {
		t.Fatal(err)
	}
	// Every later Put fails: also the job history's copies, which only
	// log that.
	fb.Inject(faulty.OpPut, faulty.Fault{From: fb.Calls(faulty.OpPut) + 1, Err: errors.New("disk full")})
	if _, err := s.Client("").Complete(ctx, id); err == nil {
		t.Fatal("complete with a failing backend succeeded")
	}
	wantConflict(t, s, s.AdminToken, "HV01", "VM1", id)
	if err := s.Client("").Abort(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantOpen(t, s, s.AdminToken, "HV01", "VM1")
}

// TestSessionConflictRace: of many concurrent opens of one VM, exactly
// one gets the session.
func TestSessionConflictRace(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	var winner string
	var conflicts []string
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, e := openRaw(t, s, s.AdminToken, "HV01", "SQL01")
			mu.Lock()
			defer mu.Unlock()
			statuses[st]++
			if st == http.StatusCreated {
				winner = e.Session
			} else {
				conflicts = append(conflicts, e.Session)
			}
		}()
	}
	wg.Wait()
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusConflict] != n-1 {
		t.Fatalf("concurrent opens of one VM: %v, want one 201 and %d 409", statuses, n-1)
	}
	for _, c := range conflicts {
		if c != winner {
			t.Fatalf("a refusal names %s, the open session is %s", c, winner)
		}
	}
}

// leaseClock is a clock tests move by hand.
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
