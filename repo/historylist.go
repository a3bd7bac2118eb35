package repo

import (
	"fmt"
	"sort"
	"time"
)

// JobFilter selects jobs of the history. Zero fields select everything.
type JobFilter struct {
	Kind   JobKind
	Result JobResult
	// Host and VM are exact names or shell globs.
	Host, VM string
	// Since and Until bound the start: Since <= start < Until.
	Since, Until time.Time
	// Limit caps the answer (0: DefaultJobLimit).
	Limit int
}

// DefaultJobLimit and MaxJobLimit bound a listing of the history.
const (
	DefaultJobLimit = 100
	MaxJobLimit     = 1000
)

func (f JobFilter) matches(rec JobRecord) bool {
	return (f.Kind == 0 || rec.Kind == f.Kind) && (f.Result == 0 || rec.Result == f.Result) &&
		(f.Host == "" || glob(f.Host, rec.Host)) && (f.VM == "" || glob(f.VM, rec.VM)) &&
		(f.Since.IsZero() || !rec.Start.Before(f.Since)) && (f.Until.IsZero() || rec.Start.Before(f.Until))
}

// List returns the jobs f selects, newest first; running jobs as they are
// now.
func (h *History) List(f JobFilter) ([]JobRecord, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultJobLimit
	}
	f.Limit = min(f.Limit, MaxJobLimit)
	h.mu.Lock()
	live := make(map[string]JobRecord, len(h.unsaved)+len(h.running))
	for id, sj := range h.unsaved {
		live[id] = sj.rec
	}
	runs := make([]*JobRun, 0, len(h.running))
	for _, j := range h.running {
		runs = append(runs, j)
	}
	h.mu.Unlock()
	for _, j := range runs {
		rec, _ := j.snapshot(false)
		live[rec.ID] = rec
	}
	var out []JobRecord
	for _, rec := range live {
		if f.matches(rec) {
			out = append(out, rec)
		}
	}
	found := 0
	err := h.idx.JobsNewestFirst(func(id string, b []byte) (bool, error) {
		if _, ok := live[id]; ok {
			return true, nil
		}
		rec, err := decodeJobRecord(b)
		if err != nil {
			return true, nil
		}
		if !f.Since.IsZero() && rec.Start.Before(f.Since) {
			return false, nil // ids sort by start: all older from here on
		}
		if f.matches(rec) {
			out = append(out, rec)
			found++
		}
		return found < f.Limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// VMStatus is when a VM's last backup succeeded and when one last failed
// (zero: never, as far as the history and the catalogue know).
type VMStatus struct {
	Host, VM    string
	LastSuccess time.Time
	LastFailure time.Time
}

type vmKey struct{ host, vm string }

// noteLocked takes a finished backup into its VM's status. h.mu is held.
func (h *History) noteLocked(rec JobRecord) {
	if rec.Kind != JobBackup || rec.Host == "" {
		return
	}
	k := vmKey{rec.Host, rec.VM}
	st := h.vms[k]
	st.Host, st.VM = rec.Host, rec.VM
	switch rec.Result {
	case JobSuccess:
		if rec.End.After(st.LastSuccess) {
			st.LastSuccess = rec.End
		}
	case JobFailed:
		if rec.End.After(st.LastFailure) {
			st.LastFailure = rec.End
		}
	default:
		return
	}
	h.vms[k] = st
}

// noteSnapshot takes a snapshot of the catalogue as a successful backup
// of its VM at its commit time.
func (h *History) noteSnapshot(m *Manifest) {
	t := m.Receipt.CommittedAt
	if t.IsZero() {
		t = m.Time
	}
	h.mu.Lock()
	h.noteLocked(JobRecord{Kind: JobBackup, Host: m.Host, VM: m.VM, Result: JobSuccess, End: t.UTC()})
	h.mu.Unlock()
}

// VMs returns the status of every VM with a backup in the history or the
// catalogue, ordered by host and VM.
func (h *History) VMs() []VMStatus {
	h.mu.Lock()
	out := make([]VMStatus, 0, len(h.vms))
	for _, st := range h.vms {
		out = append(out, st)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		return out[i].Host < out[j].Host || out[i].Host == out[j].Host && out[i].VM < out[j].VM
	})
	return out
}
