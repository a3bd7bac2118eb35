package ui

import (
	"errors"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestSessionLifetimes: a session lives while used within its idle time,
// never past its absolute lifetime, and not a moment after either.
func TestSessionLifetimes(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewSessions(time.Hour, 3*time.Hour, c.now)
	a, err := s.Create("tok1", "admin")
	if err != nil {
		t.Fatal(err)
	}
	// Used every 59 minutes: alive until the absolute end.
	for c.now().Before(a.Created.Add(3*time.Hour - time.Hour)) {
		c.add(59 * time.Minute)
		if _, err := s.Get(a.ID); err != nil {
			t.Fatalf("at %v after login, used within the idle time: %v", c.now().Sub(a.Created), err)
		}
	}
	c.t = a.Created.Add(3*time.Hour - time.Nanosecond)
	if _, err := s.Get(a.ID); err != nil {
		t.Fatalf("just before the absolute end: %v", err)
	}
	c.t = a.Created.Add(3 * time.Hour)
	if _, err := s.Get(a.ID); !errors.Is(err, ErrNoSession) {
		t.Fatalf("at the absolute end: %v, want ErrNoSession", err)
	}
	// Idle: gone exactly at its idle end.
	b, _ := s.Create("tok1", "admin")
	c.add(time.Hour - time.Nanosecond)
	if _, err := s.Get(b.ID); err != nil {
		t.Fatalf("just before the idle end: %v", err)
	}
	c.add(time.Hour)
	if _, err := s.Get(b.ID); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle for an hour: %v, want ErrNoSession", err)
	}
	if _, err := s.Get(b.ID); !errors.Is(err, ErrNoSession) {
		t.Fatal("an expired session came back")
	}
	// Expired sessions are purged when others are created.
	s.Create("tok2", "admin")
	c.add(2 * time.Hour)
	s.Create("tok3", "admin")
	if n := s.Len(); n != 1 {
		t.Fatalf("%d sessions held, want 1 (the expired ones purged)", n)
	}
}

// TestSessionEndToken: ending a token's sessions ends those and only those.
func TestSessionEndToken(t *testing.T) {
	s := NewSessions(0, 0, nil)
	a1, _ := s.Create("a", "admin")
	a2, _ := s.Create("a", "admin")
	b, _ := s.Create("b", "restore")
	if n := s.EndToken("a"); n != 2 {
		t.Fatalf("EndToken ended %d, want 2", n)
	}
	for _, id := range []string{a1.ID, a2.ID} {
		if _, err := s.Get(id); !errors.Is(err, ErrNoSession) {
			t.Fatalf("a session of the ended token lives: %v", err)
		}
	}
	if got, err := s.Get(b.ID); err != nil || got.TokenID != "b" || got.Role != "restore" {
		t.Fatalf("another token's session: %+v %v", got, err)
	}
	s.Delete(b.ID)
	if _, err := s.Get(b.ID); !errors.Is(err, ErrNoSession) {
		t.Fatal("a deleted session lives")
	}
}

// TestSessionIDs: IDs and CSRF tokens are 256-bit random, all distinct;
// the CSRF check accepts exactly the session's token.
func TestSessionIDs(t *testing.T) {
	s := NewSessions(0, 0, nil)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		x, _ := s.Create("t", "admin")
		for _, v := range []string{x.ID, x.CSRF} {
			if len(v) != 64 || seen[v] {
				t.Fatalf("value %q: not 64 hex digits or repeated", v)
			}
			seen[v] = true
		}
		if !x.CheckCSRF(x.CSRF) || x.CheckCSRF("") || x.CheckCSRF(x.ID) || x.CheckCSRF(x.CSRF[:63]) || x.CheckCSRF(x.CSRF+"0") {
			t.Fatal("CheckCSRF accepts something other than the session's token")
		}
	}
}

// TestSessionsBoundedPerToken: logging in again and again with one token
// keeps at most MaxPerToken sessions of it (the oldest end first), so a
// token holder cannot grow the server's memory without bound, and other
// tokens' sessions are untouched.
func TestSessionsBoundedPerToken(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	s := NewSessions(0, 0, func() time.Time { return now })
	other, _ := s.Create("b", "admin")
	var ids []string
	for i := 0; i < 5*MaxPerToken; i++ {
		now = now.Add(time.Second)
		sess, err := s.Create("a", "admin")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sess.ID)
	}
	live := 0
	for i, id := range ids {
		if _, err := s.Get(id); err == nil {
			live++
			if i < len(ids)-MaxPerToken {
				t.Fatalf("session %d of %d lives: the oldest should have ended first", i, len(ids))
			}
		}
	}
	if live != MaxPerToken {
		t.Fatalf("%d live sessions of one token, want %d", live, MaxPerToken)
	}
	if _, err := s.Get(other.ID); err != nil {
		t.Fatalf("another token's session ended: %v", err)
	}
}
