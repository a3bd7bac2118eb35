package repo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// The job history records every backup (a session, from its opening to
// its end), prune, check, repair and forget: start, end, result, bytes,
// the error and the log lines the server wrote while the job ran. Jobs
// live in memory while they run; each change is written to the index by
// one background writer (historystore.go), never on the caller's path,
// and a finished job is then mirrored in the backend, so that a rebuilt
// index gets the history back. A failed write is logged: job bookkeeping
// never fails or holds up a backup.

// DefaultJobHistory is how long finished jobs are kept by default.
const DefaultJobHistory = 30 * 24 * time.Hour

// JobRecord is one job of the history.
type JobRecord struct {
	// Version is the record's format (jobRecordVersion).
	Version    int        `json:"version"`
	ID         string     `json:"id"`
	Kind       JobKind    `json:"kind"`
	Trigger    JobTrigger `json:"trigger"`
	Schedule   string     `json:"schedule,omitempty"`
	Host       string     `json:"host,omitempty"`
	VM         string     `json:"vm,omitempty"`
	SessionID  string     `json:"session_id,omitempty"`
	SnapshotID string     `json:"snapshot_id,omitempty"`
	Start      time.Time  `json:"start"`
	End        time.Time  `json:"end,omitzero"`
	Result     JobResult  `json:"result"`
	Error      string     `json:"error,omitempty"`
	// Bytes: received for a backup, freed for a prune.
	Bytes    int64 `json:"bytes"`
	NewBytes int64 `json:"new_bytes,omitempty"`
	// BytesDone and BytesTotal are a running backup's progress (total 0:
	// unknown); not stored.
	BytesDone  int64 `json:"-"`
	BytesTotal int64 `json:"-"`
	// Sync is what a sync job copied (syncjob.go).
	Sync *SyncStats `json:"sync,omitempty"`
}

// jobRecordVersion is the format of stored job records and logs.
const jobRecordVersion = 1

// JobRun is a job while it runs.
type JobRun struct {
	h *History
	// done and total are the bytes of a backup received so far and
	// announced (Content-Length of its uploads; -1 once one had none).
	done, total atomic.Int64

	mu  sync.Mutex
	rec JobRecord // guarded by mu
	log jobLog    // guarded by mu
	// ended is set by the first end; later ends change nothing.
	ended bool // guarded by mu
}

// ID is the job's id.
func (j *JobRun) ID() string {
	if j == nil {
		return ""
	}
	return j.rec.ID // set once, before the run is shared
}

// Logger returns a logger whose records go to the job's log (and to the
// server's log).
func (j *JobRun) Logger() *slog.Logger { return j.h.log.With(jobAttr, j.rec.ID) }

// AddProgress counts n bytes received for the job.
func (j *JobRun) AddProgress(n int64) {
	if j != nil {
		j.done.Add(n)
	}
}

// AddTotal announces n more bytes to come; n < 0: unknown.
func (j *JobRun) AddTotal(n int64) {
	if j == nil {
		return
	}
	if n < 0 {
		j.total.Store(-1)
		return
	}
	for {
		t := j.total.Load()
		if t < 0 || j.total.CompareAndSwap(t, t+n) {
			return
		}
	}
}

// SetError records what went wrong, for a job that goes on (a backup
// whose upload failed); the last error is kept.
func (j *JobRun) SetError(err error) {
	if j == nil || err == nil {
		return
	}
	j.mu.Lock()
	if !j.ended {
		j.rec.Error = truncate(err.Error(), maxErrorLen)
	}
	j.mu.Unlock()
}

// hadError reports whether SetError was called.
func (j *JobRun) hadError() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rec.Error != ""
}

// End ends the job with its result; err (may be nil) replaces the error
// recorded so far; fill, if not nil, sets the record's other fields.
// Only the first End counts.
func (j *JobRun) End(result JobResult, err error, fill func(*JobRecord)) {
	if j == nil {
		return
	}
	j.mu.Lock()
	if j.ended {
		j.mu.Unlock()
		return
	}
	j.ended = true
	j.rec.Result, j.rec.End = result, j.h.now().UTC()
	if err != nil {
		j.rec.Error = truncate(err.Error(), maxErrorLen)
	}
	if result == JobSuccess {
		j.rec.Error = ""
	}
	if fill != nil {
		fill(&j.rec)
	}
	rec, lines := j.rec, j.log.lines()
	j.mu.Unlock()
	j.h.ended(j, rec, lines)
}

// snapshot returns the record as it is now, with its progress.
func (j *JobRun) snapshot(withLog bool) (JobRecord, []LogLine) {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec := j.rec
	if rec.Result == JobRunning {
		rec.BytesDone, rec.BytesTotal = j.done.Load(), max(j.total.Load(), 0)
		if rec.Kind == JobBackup {
			rec.Bytes = rec.BytesDone
		}
	}
	if !withLog {
		return rec, nil
	}
	return rec, j.log.lines()
}

// maxErrorLen bounds a job's error message.
const maxErrorLen = 2048

// ErrUnknownJob is returned for a job the history does not hold.
var ErrUnknownJob = errors.New("unknown job")

// History is the repository's job history.
type History struct {
	idx  *index.Index
	be   backend.Backend
	log  *slog.Logger // a logger whose records go to job logs
	base *slog.Logger // the server's logger, for the history's own lines
	now  func() time.Time
	keep time.Duration

	mu sync.Mutex
	// running are the jobs in flight by id, and backups by session id.
	running   map[string]*JobRun // guarded by mu
	bySession map[string]*JobRun // guarded by mu
	// unsaved are records (with their logs) not yet in the index, the
	// latest version of each; the writer takes them.
	unsaved map[string]savedJob // guarded by mu
	vms     map[vmKey]VMStatus  // guarded by mu
	counts  map[jobCount]int    // jobs ended since start; guarded by mu

	// lastID is the time (ns) in the last job id given.
	lastID atomic.Int64

	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	// writing serializes the writer's passes (writer, Flush, Sweep).
	writing sync.Mutex
}

type savedJob struct {
	rec   JobRecord
	lines []LogLine
}

type jobCount struct {
	kind   JobKind
	result JobResult
}

func newHistory(idx *index.Index, be backend.Backend, base *slog.Logger, now func() time.Time, keep time.Duration) *History {
	if keep <= 0 {
		keep = DefaultJobHistory
	}
	h := &History{
		idx: idx, be: be, base: base, now: now, keep: keep,
		running: map[string]*JobRun{}, bySession: map[string]*JobRun{}, unsaved: map[string]savedJob{},
		vms: map[vmKey]VMStatus{}, counts: map[jobCount]int{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	h.log = slog.New(h.Handler(base.Handler()))
	return h
}

// begin starts a job.
func (h *History) begin(rec JobRecord) *JobRun {
	now := h.now().UTC()
	rec.Version, rec.ID, rec.Start, rec.Result = jobRecordVersion, h.newJobID(now), now, JobRunning
	if rec.Trigger == 0 {
		rec.Trigger = TriggerManual
	}
	j := &JobRun{h: h, rec: rec}
	h.mu.Lock()
	h.running[rec.ID] = j
	if rec.SessionID != "" {
		h.bySession[rec.SessionID] = j
	}
	h.unsaved[rec.ID] = savedJob{rec: rec}
	h.mu.Unlock()
	h.kick()
	return j
}

// newJobID returns an id like a session's (time, then random bytes) whose
// time is later than the last one's, so that ids sort as jobs began even
// when the clock gives two jobs the same time.
func (h *History) newJobID(now time.Time) string {
	ns := now.UnixNano()
	for {
		last := h.lastID.Load()
		if ns <= last {
			ns = last + 1
		}
		if h.lastID.CompareAndSwap(last, ns) {
			return newID(time.Unix(0, ns))
		}
	}
}

// ended moves a finished job from the running ones to the writer.
func (h *History) ended(j *JobRun, rec JobRecord, lines []LogLine) {
	h.mu.Lock()
	delete(h.running, rec.ID)
	if rec.SessionID != "" && h.bySession[rec.SessionID] == j {
		delete(h.bySession, rec.SessionID)
	}
	h.unsaved[rec.ID] = savedJob{rec: rec, lines: lines}
	h.counts[jobCount{rec.Kind, rec.Result}]++
	h.noteLocked(rec)
	h.mu.Unlock()
	h.kick()
}

func (h *History) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// runOf returns the running job of a job id or, failing that, of a
// session id.
func (h *History) runOf(job, session string) *JobRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	if j := h.running[job]; job != "" && j != nil {
		return j
	}
	if session != "" {
		return h.bySession[session]
	}
	return nil
}

// Counts returns how many jobs ended since the server started, by kind
// and result.
func (h *History) Counts() map[JobKind]map[JobResult]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[JobKind]map[JobResult]int{}
	for _, k := range JobKinds() {
		out[k] = map[JobResult]int{}
		for _, r := range []JobResult{JobSuccess, JobFailed, JobAborted} {
			out[k][r] = h.counts[jobCount{k, r}]
		}
	}
	return out
}

// Get returns a job and its log lines: a running job as it is now.
func (h *History) Get(ctx context.Context, id string) (JobRecord, []LogLine, error) {
	h.mu.Lock()
	j, u, unsaved := h.running[id], h.unsaved[id], false
	if j == nil {
		_, unsaved = h.unsaved[id]
	}
	h.mu.Unlock()
	switch {
	case j != nil:
		rec, lines := j.snapshot(true)
		return rec, lines, nil
	case unsaved:
		return u.rec, u.lines, nil
	}
	recb, logb, err := h.idx.Job(id)
	if errors.Is(err, index.ErrNotFound) {
		return JobRecord{}, nil, fmt.Errorf("job %s: %w", id, ErrUnknownJob)
	}
	if err != nil {
		return JobRecord{}, nil, fmt.Errorf("job %s: %w", id, err)
	}
	rec, err := decodeJobRecord(recb)
	if err != nil {
		return JobRecord{}, nil, fmt.Errorf("job %s: %w", id, err)
	}
	lines, err := decodeJobLog(logb)
	if err != nil {
		return JobRecord{}, nil, fmt.Errorf("job %s: %w", id, err)
	}
	return rec, lines, nil
}
