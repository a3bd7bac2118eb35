package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Default lifetimes of a session: it ends after IdleTimeout without a
// request, and at the latest MaxLifetime after login.
const (
	IdleTimeout = 12 * time.Hour
	MaxLifetime = 24 * time.Hour
	// MaxPerToken bounds the live sessions of one token: a new login
	// beyond it ends that token's oldest session.
	MaxPerToken = 16
)

// CookieName is the session cookie's name.
const CookieName = "shadowvault_session"

// CSRFHeader is the header an unsafe request made with the cookie carries
// the session's CSRF token in.
const CSRFHeader = "X-CSRF-Token"

// ErrNoSession is returned for an unknown, ended or expired session.
var ErrNoSession = errors.New("no such session")

// Session is one logged-in browser.
type Session struct {
	ID      string // 64 hex digits: the cookie's value
	CSRF    string // 64 hex digits, presented in CSRFHeader
	TokenID string // the token logged in with (its ID, not its secret)
	Role    string // the token's role at login
	Created time.Time
	Last    time.Time // the last request
}

// Expires is when the session ends unless used again: the earlier of its
// idle end and its absolute end.
func (s Session) Expires(idle, max time.Duration) time.Time {
	e := s.Last.Add(idle)
	if a := s.Created.Add(max); a.Before(e) {
		e = a
	}
	return e
}

// CheckCSRF reports whether presented is the session's CSRF token,
// comparing in constant time.
func (s Session) CheckCSRF(presented string) bool {
	return presented != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(s.CSRF)) == 1
}

// Sessions holds the sessions in memory. Its methods may be called
// concurrently.
type Sessions struct {
	idle, max time.Duration
	now       func() time.Time

	mu sync.Mutex
	// byID holds the live sessions (guarded by mu).
	byID map[string]Session
}

// NewSessions returns an empty store with the given lifetimes (zero:
// IdleTimeout, MaxLifetime) and clock (nil: time.Now).
func NewSessions(idle, max time.Duration, now func() time.Time) *Sessions {
	if idle <= 0 {
		idle = IdleTimeout
	}
	if max <= 0 {
		max = MaxLifetime
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{idle: idle, max: max, now: now, byID: map[string]Session{}}
}

// Lifetimes returns the idle and absolute lifetimes.
func (s *Sessions) Lifetimes() (idle, max time.Duration) { return s.idle, s.max }

// Create opens a session for a token and returns it.
func (s *Sessions) Create(tokenID, role string) (Session, error) {
	id, err := random256()
	if err != nil {
		return Session{}, err
	}
	csrf, err := random256()
	if err != nil {
		return Session{}, err
	}
	now := s.now().UTC()
	sess := Session{ID: id, CSRF: csrf, TokenID: tokenID, Role: role, Created: now, Last: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(now)
	s.boundLocked(tokenID)
	s.byID[id] = sess
	return sess, nil
}

// Get returns a live session and marks it used; ErrNoSession when it is
// unknown or has expired (it is then deleted).
func (s *Sessions) Get(id string) (Session, error) {
	now := s.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return Session{}, ErrNoSession
	}
	if !now.Before(sess.Expires(s.idle, s.max)) {
		delete(s.byID, id)
		return Session{}, ErrNoSession
	}
	sess.Last = now
	s.byID[id] = sess
	return sess, nil
}

// Delete ends a session (logout). Ending an unknown one is no error.
func (s *Sessions) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// EndToken ends every session opened with the token (it was revoked) and
// returns how many.
func (s *Sessions) EndToken(tokenID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sess := range s.byID {
		if sess.TokenID == tokenID {
			delete(s.byID, id)
			n++
		}
	}
	return n
}

// Len returns the number of sessions held (expired ones not yet purged
// included).
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// purgeLocked drops the expired sessions.
func (s *Sessions) purgeLocked(now time.Time) {
	for id, sess := range s.byID {
		if !now.Before(sess.Expires(s.idle, s.max)) {
			delete(s.byID, id)
		}
	}
}

func random256() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// boundLocked ends the oldest sessions of tokenID until one more fits
// under MaxPerToken. s.mu is held.
func (s *Sessions) boundLocked(tokenID string) {
	for {
		n, oldest := 0, ""
		for id, sess := range s.byID {
			if sess.TokenID != tokenID {
				continue
			}
			n++
			if oldest == "" || sess.Created.Before(s.byID[oldest].Created) {
				oldest = id
			}
		}
		if n < MaxPerToken {
			return
		}
		delete(s.byID, oldest)
	}
}
