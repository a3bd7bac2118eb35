package repo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/receipt"
)

// Session errors.
var (
	ErrUnknownSession = errors.New("unknown session")
	ErrSessionClosed  = errors.New("session already completed")
	ErrSessionAborted = errors.New("session aborted")
	ErrSessionExpired = errors.New("session expired")
	ErrSessionFailed  = errors.New("session failed")
	ErrDiskBusy       = errors.New("disk upload in progress")
	ErrNoDisks        = errors.New("session has no disks")
	// ErrDiskFailed refuses a complete while the last upload of a disk failed.
	ErrDiskFailed = errors.New("disk upload failed")
	// ErrDiskMissing refuses a complete while a declared disk is missing.
	ErrDiskMissing = errors.New("declared disk not uploaded")
	// ErrDiskNotDeclared refuses a disk a session did not declare.
	ErrDiskNotDeclared = errors.New("disk not declared")
)

// SessionInfo is what the agent declared when opening a session.
type SessionInfo struct {
	Host        string              `json:"host"`
	VM          string              `json:"vm"`
	BackupType  receipt.BackupType  `json:"backup_type"`
	Consistency receipt.Consistency `json:"consistency"`
	Writers     json.RawMessage     `json:"writers,omitempty"`
	// Disks, when not empty, are the names of the disks the session must
	// hold before it completes; no other disk may be uploaded.
	Disks []string `json:"disks,omitempty"`
	// Schedule names the schedule the backup runs for ("": none).
	Schedule string `json:"schedule,omitempty"`
	// Owner is the id of the token that opened the session.
	Owner string `json:"owner,omitempty"`
}

type sessionState int

const (
	stateOpen sessionState = 1 + iota
	stateCompleting
	stateCompleted
	stateAborted
	stateExpired
	stateFailed
)

func (s sessionState) err() error {
	switch s {
	case stateCompleted:
		return ErrSessionClosed
	case stateAborted:
		return ErrSessionAborted
	case stateExpired:
		return ErrSessionExpired
	case stateFailed:
		return ErrSessionFailed
	}
	return nil
}

// Disk is one uploaded disk of a session.
type Disk struct {
	Name         string
	Format       diskmap.Format
	Map          *diskmap.Map
	StreamBytes  int64
	StreamBLAKE3 string
	NewBytes     int64 // raw bytes of chunks this upload stored first
	StoredBytes  int64 // their stored (compressed) size
	Container    diskmap.Container
	Parent       string // the disk of the same session this one differences
	Guest        *diskmap.GuestHints
	Base         string // incremental: the snapshot whose disk it changed
	Changed      int64  // incremental: the bytes the upload wrote over it
	RCTID        string // the disk's change tracking id, as the agent read it
	deps         []*pending
}

// Session is a backup in progress.
type Session struct {
	r       *Repository
	ID      string
	Info    SessionInfo
	Created time.Time

	completeMu sync.Mutex // serializes Complete

	mu         sync.Mutex
	state      sessionState              // guarded by mu
	lastActive time.Time                 // guarded by mu
	uploading  map[string]*Upload        // guarded by mu
	disks      map[string]*Disk          // guarded by mu
	failed     map[string]error          // disks whose last upload failed; guarded by mu
	failure    error                     // guarded by mu
	hints      map[string]*diskmap.Hints // per disk, set before its upload; guarded by mu
	writerMeta []byte                    // VSS writer metadata document; guarded by mu

	// job is the session's record in the job history.
	job *JobRun

	// The accounting view of the session's host (hostview.go), held from
	// the first chunk saved to the session's end. claimed lists the chunk
	// prefixes the session claimed in it, guarded by the view's mu.
	hv      *hostView // guarded by mu
	hvDone  bool      // the session ended: no view any more; guarded by mu
	claimed []uint64
}

func newID(now time.Time) string {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b)
}

// OpenSession starts a session. A host and VM have at most one session
// in flight: while another is open, completing or failed (a complete that
// failed, until it is aborted) it is refused with a *ConflictError. A
// session idle past its lease that the janitor has not yet swept is
// expired here instead, so that a retry is never held up by it.
func (r *Repository) OpenSession(info SessionInfo) (*Session, error) {
	for {
		now := r.now()
		r.mu.Lock()
		other := r.sessionOfLocked(info.Host, info.VM)
		if other == nil {
			s := &Session{
				r: r, ID: newID(now), Info: info, Created: now,
				state: stateOpen, lastActive: now,
				uploading: make(map[string]*Upload), disks: make(map[string]*Disk), failed: make(map[string]error),
			}
			s.job = r.history.beginBackup(s) // before anyone else can see the session
			r.sessions[s.ID] = s
			r.mu.Unlock()
			r.log.Info("session opened", "session", s.ID, "host", info.Host, "vm", info.VM, "type", info.BackupType,
				"declared_disks", len(info.Disks))
			return s, nil
		}
		r.mu.Unlock()
		if other.idleSince(now) > r.lease && other.expire(now, r.lease) {
			continue // it was past its lease: the slot is free now
		}
		return nil, &ConflictError{Session: other.ID, Host: info.Host, VM: info.VM}
	}
}

// sessionOfLocked returns the session in flight for host and VM, or nil.
// r.mu is held.
func (r *Repository) sessionOfLocked(host, vm string) *Session {
	for _, s := range r.sessions {
		if s.Info.Host != host || s.Info.VM != vm {
			continue
		}
		s.mu.Lock()
		ended := s.state == stateCompleted || s.state == stateAborted || s.state == stateExpired
		s.mu.Unlock()
		if !ended { // an ended one is on its way out of r.sessions
			return s
		}
	}
	return nil
}

// ErrSessionConflict refuses a second session for a host and VM while one
// is in flight.
var ErrSessionConflict = errors.New("a session for this host and VM is in flight")

// ConflictError names the session in flight that refused a new one; it
// is ErrSessionConflict.
type ConflictError struct {
	Session, Host, VM string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("host %s vm %s: session %s is in flight (complete or abort it, or wait until it expires)", e.Host, e.VM, e.Session)
}

// Is makes a ConflictError ErrSessionConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrSessionConflict }

// Session returns an open session. For a session that is no longer in
// memory it tells why: completed (ErrSessionClosed) or unknown.
func (r *Repository) Session(id string) (*Session, error) {
	r.mu.Lock()
	s, gone := r.sessions[id], r.tombstones[id]
	r.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if gone != 0 {
		return nil, fmt.Errorf("session %s: %w", id, gone.err())
	}
	if _, err := r.idx.SessionSnapshot(id); err == nil {
		return nil, fmt.Errorf("session %s: %w", id, ErrSessionClosed)
	}
	return nil, fmt.Errorf("session %s: %w", id, ErrUnknownSession)
}

// SessionSummary describes a session in flight.
type SessionSummary struct {
	ID         string      `json:"id"`
	Info       SessionInfo `json:"info"`
	Created    time.Time   `json:"created"`
	LastActive time.Time   `json:"last_active"`
	Disks      []string    `json:"disks"`     // stored
	Uploading  []string    `json:"uploading"` // in flight
	Failed     []string    `json:"failed"`    // last upload failed
}

// Sessions lists the sessions in flight.
func (r *Repository) Sessions() []SessionSummary {
	r.mu.Lock()
	list := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		list = append(list, s)
	}
	r.mu.Unlock()
	out := make([]SessionSummary, 0, len(list))
	for _, s := range list {
		s.mu.Lock()
		sum := SessionSummary{ID: s.ID, Info: s.Info, Created: s.Created, LastActive: s.lastActive,
			Disks: sortedKeys(s.disks), Uploading: sortedKeys(s.uploading), Failed: sortedKeys(s.failed)}
		s.mu.Unlock()
		out = append(out, sum)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Session) idleSince(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.uploading) > 0 || s.state == stateCompleting {
		return 0
	}
	return now.Sub(s.lastActive)
}

func (s *Session) touchLocked() { s.lastActive = s.r.now() }

// expire discards the session if it is still idle past the lease: open, or
// failed (a complete that failed), with no upload in flight. A completing
// session is never idle.
func (s *Session) expire(now time.Time, lease time.Duration) bool {
	s.mu.Lock()
	live := s.state == stateOpen || s.state == stateFailed
	idle := live && len(s.uploading) == 0 && now.Sub(s.lastActive) > lease
	if idle {
		s.state = stateExpired
	}
	s.mu.Unlock()
	if idle {
		s.r.log.Warn("session expired", "session", s.ID, "host", s.Info.Host, "vm", s.Info.VM)
		s.r.forget(s)
		s.endUnfinished(false, fmt.Errorf("session expired: idle for more than %s", lease))
	}
	return idle
}

// maxTombstones bounds how many ended sessions are remembered, so that a
// late request is told why its session is gone.
const maxTombstones = 4096

func (r *Repository) forget(s *Session) {
	s.mu.Lock()
	st := s.state
	hv := s.hv
	s.hv, s.hvDone = nil, true
	s.mu.Unlock()
	if hv != nil {
		r.views.release(hv, s)
	}
	r.mu.Lock()
	delete(r.sessions, s.ID)
	if st == stateAborted || st == stateExpired {
		if len(r.tombstones) >= maxTombstones {
			clear(r.tombstones)
		}
		r.tombstones[s.ID] = st
	}
	r.mu.Unlock()
}

// Abort discards the session. Nothing it uploaded becomes a snapshot.
func (s *Session) Abort() error {
	s.mu.Lock()
	switch s.state {
	case stateOpen, stateFailed:
		s.state = stateAborted
	default:
		err := s.state.err()
		s.mu.Unlock()
		if err == nil {
			err = ErrDiskBusy
		}
		return fmt.Errorf("abort session %s: %w", s.ID, err)
	}
	s.mu.Unlock()
	s.r.log.Info("session aborted", "session", s.ID, "host", s.Info.Host, "vm", s.Info.VM)
	s.r.forget(s)
	s.endUnfinished(true, errors.New("aborted by the client"))
	return nil
}

func (s *Session) discard(reason string) {
	s.mu.Lock()
	if s.state == stateOpen {
		s.state = stateAborted
	}
	s.mu.Unlock()
	s.r.log.Info("session discarded", "session", s.ID, "reason", reason)
	s.r.forget(s)
	s.endUnfinished(false, errors.New("session discarded: "+reason))
}

// Upload is one disk being streamed into a session. It is the Saver the
// ingest pipeline writes chunks through.
type Upload struct {
	s    *Session
	name string

	mu          sync.Mutex
	deps        []*pending // guarded by mu
	refs        []uint64   // ID prefixes of every chunk saved, guarded by mu
	newBytes    int64      // new to the session's host; guarded by mu
	storedBytes int64      // guarded by mu
	// noView is set when the host's snapshots could not be read: the
	// upload then counts only claims (more new bytes, never fewer).
	noView atomic.Bool
}

// prefix is the first 8 bytes of a chunk ID: in-flight references are kept
// as prefixes, so a backup of a huge disk costs prune 8 bytes per chunk; a
// collision only makes a prune keep a chunk longer.
func prefix(id chunk.ID) uint64 { return binary.LittleEndian.Uint64(id[:8]) }

// BeginDisk starts the upload of a disk. A disk of the same name uploaded
// before is replaced when this upload finishes. A session that declared
// its disks refuses any other (ErrDiskNotDeclared).
func (s *Session) BeginDisk(name string) (*Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.state.err(); err != nil {
		return nil, fmt.Errorf("session %s: %w", s.ID, err)
	}
	if s.state != stateOpen {
		return nil, fmt.Errorf("session %s: completing: %w", s.ID, ErrSessionClosed)
	}
	if len(s.Info.Disks) > 0 && !slices.Contains(s.Info.Disks, name) {
		return nil, fmt.Errorf("disk %s: the session declared %v: %w", name, s.Info.Disks, ErrDiskNotDeclared)
	}
	if s.uploading[name] != nil {
		return nil, fmt.Errorf("disk %s: %w", name, ErrDiskBusy)
	}
	u := &Upload{s: s, name: name}
	s.uploading[name] = u
	s.touchLocked()
	return u, nil
}

// Save stores a chunk unless the repository has it or is storing it, and
// records what the session must wait for before it commits.
func (u *Upload) Save(ctx context.Context, id chunk.ID, data []byte) (stored int, err error) {
	// Record the reference before looking the chunk up: a prune that
	// starts later sees it here, one that started earlier tracks the save.
	u.mu.Lock()
	u.refs = append(u.refs, prefix(id))
	u.mu.Unlock()
	n, pe, err := u.s.r.packer.save(ctx, id, data)
	if err != nil {
		return 0, err
	}
	// The figures are those of a repository holding only what the host
	// knows: whether this call stored the chunk depends on other hosts.
	fresh, err := u.fresh(ctx, prefix(id))
	if err != nil {
		return 0, err
	}
	var size int64
	if fresh {
		size = int64(n)
		if n == 0 {
			size = u.s.r.storedLength(id, data)
		}
	}
	u.mu.Lock()
	if pe != nil {
		u.deps = append(u.deps, pe)
	}
	if fresh {
		u.newBytes += int64(len(data))
		u.storedBytes += size
	}
	u.mu.Unlock()
	u.s.mu.Lock()
	u.s.touchLocked()
	u.s.mu.Unlock()
	return n, nil
}

// fresh reports whether chunk prefix p is new to the session's host (a
// snapshot of the host that exists, or an upload of a live session of the
// host, references it), and if so claims it for the session.
func (u *Upload) fresh(ctx context.Context, p uint64) (bool, error) {
	s := u.s
	s.mu.Lock()
	if s.hv == nil && !s.hvDone {
		s.hv = s.r.views.acquire(s.Info.Host)
	}
	v := s.hv
	s.mu.Unlock()
	if v == nil {
		return true, nil // the session ended: it reports nothing
	}
	fresh, unbuilt := v.claim(s, p, !u.noView.Load())
	if !unbuilt {
		return fresh, nil
	}
	if err := v.ensure(ctx, s.r); err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		s.r.log.Error("read the host's snapshots for the upload summary: counting only this session's chunks as known",
			"session", s.ID, "host", s.Info.Host, "disk", u.name, "err", err)
		u.noView.Store(true)
	}
	fresh, _ = v.claim(s, p, false)
	return fresh, nil
}

// Finish records the disk in the session, replacing one of the same name,
// and clears a failure of an earlier upload of that name.
func (u *Upload) Finish(d *Disk) error {
	u.mu.Lock()
	d.Name, d.deps, d.NewBytes, d.StoredBytes = u.name, u.deps, u.newBytes, u.storedBytes
	u.mu.Unlock()
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.uploading, u.name)
	s.touchLocked()
	if err := s.state.err(); err != nil {
		return fmt.Errorf("session %s: %w", s.ID, err)
	}
	s.disks[u.name] = d
	delete(s.failed, u.name)
	return nil
}

// Cancel ends a failed upload (cause says why). The session keeps any
// earlier disk of that name but records the failure: it does not complete
// until an upload of that name finishes (see Complete).
func (u *Upload) Cancel(cause error) {
	if cause == nil {
		cause = errors.New("upload cancelled")
	}
	s := u.s
	s.mu.Lock()
	delete(s.uploading, u.name)
	s.failed[u.name] = cause
	s.touchLocked()
	s.mu.Unlock()
	s.job.SetError(fmt.Errorf("disk %s: %w", u.name, cause))
}

// SetHints keeps the guest hints an agent sent for a disk, for its upload.
func (s *Session) SetHints(name string, h *diskmap.Hints) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.state.err(); err != nil {
		return fmt.Errorf("session %s: %w", s.ID, err)
	}
	if s.hints == nil {
		s.hints = map[string]*diskmap.Hints{}
	}
	s.hints[name] = h
	s.touchLocked()
	return nil
}

// Hints returns the hints sent for a disk, or nil.
func (s *Session) Hints(name string) *diskmap.Hints {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hints[name]
}
