package torture

import (
	"crypto/ed25519"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/shadowvault/shadowvault/receipt"
)

// What the test knows about the repository: every session it opened, what
// it sent, what the server answered, and what it forgot.

type sessState int

const (
	sessOpen       sessState = iota // created, disks uploading
	sessCompleting                  // complete sent, no answer yet
	sessReceipted                   // complete answered 200 with a receipt
	sessUncertain                   // complete was in flight at a kill: may or may not exist
	sessRefused                     // complete answered an error
	sessAborted                     // aborted by the test: must never appear
	sessAbandoned                   // killed before complete was sent: must never appear
)

var stateNames = [...]string{"open", "completing", "receipted", "uncertain", "refused", "aborted", "abandoned"}

func (s sessState) String() string { return stateNames[s] }

type session struct {
	id, host, vm, btype, cons string
	epoch                     int                  // the kill number during which it was opened
	disks                     map[string]*diskSpec // uploaded with a 200
	state                     sessState
	rcRaw                     []byte // the receipt as received
	rc                        receipt.Receipt
}

func (s *session) diskNames() []string {
	names := make([]string, 0, len(s.disks))
	for n := range s.disks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type counters struct {
	sessions, receipts, aborts, uploads    int
	incrementals                           int
	forgetCalls, forgotten, policyForgets  int
	prunes, prunesEffective, packsDeleted  int
	packsRewritten, repairs, repairsBusy   int
	completeRetries, receiptsAfterKill     int
	kills                                  int
	killsDuring                            map[string]int
	restoresChecked, restoreBytes, checks  int
	snapshotsListedMax, snapshotsListedEnd int
}

type world struct {
	mu        sync.Mutex
	pub       ed25519.PublicKey   // the receipt key, from the first start
	lock      time.Duration       // the Object Lock period (0: none)
	sessions  map[string]*session // by session id
	bySnap    map[string]*session // receipted sessions, by snapshot id
	forgotten map[string]int      // snapshot -> kill number of a 2xx forget
	maybeGone map[string]string   // snapshot -> why it may be gone (forget in flight at a kill, or failed)
	problems  []string            // wrong answers seen during the workload
	stats     counters
}

func newWorld() *world {
	return &world{
		sessions: map[string]*session{}, bySnap: map[string]*session{},
		forgotten: map[string]int{}, maybeGone: map[string]string{},
		stats: counters{killsDuring: map[string]int{}},
	}
}

func (w *world) problem(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.problemLocked(format, args...)
}

func (w *world) problemLocked(format string, args ...any) {
	if len(w.problems) < 50 {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

// takeProblems returns the problems seen since the last call.
func (w *world) takeProblems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.problems
	w.problems = nil
	return p
}

// liveSnapshots lists the receipted snapshots of host/vm ("" for any) that
// no forget touched: those the server must still list.
func (w *world) liveSnapshots(host, vm string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for id, s := range w.bySnap {
		if _, f := w.forgotten[id]; f {
			continue
		}
		if _, m := w.maybeGone[id]; m {
			continue
		}
		if (host == "" || s.host == host) && (vm == "" || s.vm == vm) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// receipted records a receipt; it returns the problems with it.
func (w *world) receipted(s *session, raw []byte, rc receipt.Receipt, afterKill bool) []string {
	probs := checkReceipt(s, rc, w.pub, w.lock)
	w.mu.Lock()
	defer w.mu.Unlock()
	s.state, s.rcRaw, s.rc = sessReceipted, raw, rc
	w.bySnap[rc.Snapshot] = s
	w.stats.receipts++
	if afterKill {
		w.stats.receiptsAfterKill++
	}
	return probs
}

// checkReceipt checks a receipt against the session and the receipt key:
// the signature, and what the agent checks before it tells VSS the backup
// is complete (every stream's size and BLAKE3).
func checkReceipt(s *session, rc receipt.Receipt, pub ed25519.PublicKey, lock time.Duration) []string {
	var p []string
	bad := func(format string, args ...any) {
		p = append(p, fmt.Sprintf("receipt of session %s (snapshot %s): ", s.id, rc.Snapshot)+fmt.Sprintf(format, args...))
	}
	if err := receipt.Verify(rc, pub); err != nil {
		bad("signature does not verify against GET /api/v1/receipt-key: %v", err)
	}
	if rc.Session != s.id || rc.Host != s.host || rc.VM != s.vm || string(rc.BackupType) != s.btype || string(rc.Consistency) != s.cons {
		bad("names session %q host %q vm %q type %q consistency %q, want %q %q %q %q %q",
			rc.Session, rc.Host, rc.VM, rc.BackupType, rc.Consistency, s.id, s.host, s.vm, s.btype, s.cons)
	}
	if want := s.btype == "full" && s.cons == "application"; rc.TruncateLogs != want {
		bad("truncate_logs %v, want %v", rc.TruncateLogs, want)
	}
	if rc.Snapshot == "" {
		bad("no snapshot id")
	}
	if want := rc.CommittedAt.Add(lock); lock > 0 && !rc.ImmutableUntil.Equal(want) || lock == 0 && !rc.ImmutableUntil.IsZero() {
		bad("immutable_until %v, want %v (committed_at + the lock period %v)", rc.ImmutableUntil, want, lock)
	}
	if len(rc.Disks) != len(s.disks) {
		bad("%d disks, the session uploaded %d", len(rc.Disks), len(s.disks))
	}
	for _, d := range rc.Disks {
		spec, ok := s.disks[d.Name]
		switch {
		case !ok:
			bad("disk %q was never uploaded", d.Name)
		case spec.sent == nil && (d.StreamBytes != int64(spec.size) || d.StreamBLAKE3 != spec.blake3 || d.VirtualSize != int64(spec.size) || d.Base != ""):
			bad("disk %q: stream_bytes %d stream_blake3 %s virtual_size %d base %q, sent %d bytes with BLAKE3 %s",
				d.Name, d.StreamBytes, d.StreamBLAKE3, d.VirtualSize, d.Base, spec.size, spec.blake3)
		case spec.sent != nil && (d.StreamBytes != spec.sent.bytes || d.StreamBLAKE3 != spec.sent.blake3 || d.VirtualSize != int64(spec.size) ||
			d.Base != spec.sent.base || d.ChangedBytes != spec.sent.changed || d.DiskMap == ""):
			bad("incremental disk %q: stream_bytes %d stream_blake3 %s virtual_size %d base %q changed %d disk_map %q, sent %+v for %d bytes",
				d.Name, d.StreamBytes, d.StreamBLAKE3, d.VirtualSize, d.Base, d.ChangedBytes, d.DiskMap, *spec.sent, spec.size)
		}
	}
	return p
}
