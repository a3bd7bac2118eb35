package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Stored forms of the job history. The index holds each record (a
// JobRecord as JSON with "version":1) and, once the job ended, its log
// (storedJobLog). The backend holds each finished job as one object
// jobs/<id> (storedJob: both together), written after the index. Running
// jobs are not mirrored: after a crash the index's running records are
// ended as failed at the next start; a crash that also loses the index
// loses only the jobs that were running.

type storedJobLog struct {
	Version int       `json:"version"`
	Lines   []LogLine `json:"lines"`
}

type storedJob struct {
	Version int       `json:"version"`
	Record  JobRecord `json:"record"`
	Log     []LogLine `json:"log"`
}

// mirrorTimeout bounds one backend write of a finished job.
const mirrorTimeout = 20 * time.Second

func jobHandle(id string) backend.Handle { return backend.Handle{Type: backend.TypeJob, Name: id} }

func decodeJobRecord(b []byte) (JobRecord, error) {
	var rec JobRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return JobRecord{}, fmt.Errorf("decode job record: %w", err)
	}
	if rec.Version != jobRecordVersion {
		return JobRecord{}, fmt.Errorf("job record version %d, this server reads %d", rec.Version, jobRecordVersion)
	}
	return rec, nil
}

func decodeJobLog(b []byte) ([]LogLine, error) {
	if b == nil {
		return nil, nil
	}
	var l storedJobLog
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("decode job log: %w", err)
	}
	if l.Version != jobRecordVersion {
		return nil, fmt.Errorf("job log version %d, this server reads %d", l.Version, jobRecordVersion)
	}
	return l.Lines, nil
}

func encodeJobLog(lines []LogLine) []byte {
	if lines == nil {
		lines = []LogLine{}
	}
	b, _ := json.Marshal(storedJobLog{Version: jobRecordVersion, Lines: lines})
	return b
}

// run is the writer: it stores what changed whenever a job begins or
// ends, until close.
func (h *History) run() {
	defer close(h.stopped)
	for {
		select {
		case <-h.stop:
			h.Flush()
			return
		case <-h.wake:
			h.Flush()
		}
	}
}

// close stops the writer after a last pass.
func (h *History) close() {
	close(h.stop)
	<-h.stopped
}

// Flush stores every change not yet stored: the records in the index,
// in one transaction, and then each finished job's copy in the backend.
// A failure is logged: a change the index did not take is kept for the
// next pass; a copy the backend did not take is stored at the next start
// (or repair), from the index.
func (h *History) Flush() {
	h.writing.Lock()
	defer h.writing.Unlock()
	h.mu.Lock()
	batch := maps.Clone(h.unsaved)
	h.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	puts := make([]index.JobPut, 0, len(batch))
	for id, sj := range batch {
		recb, _ := json.Marshal(sj.rec)
		p := index.JobPut{ID: id, Record: recb}
		if sj.rec.Result != JobRunning {
			p.Log = encodeJobLog(sj.lines)
		}
		puts = append(puts, p)
	}
	if err := h.idx.PutJobs(puts); err != nil {
		h.base.Error("job history: store jobs", "jobs", len(puts), "err", err)
		return
	}
	h.mu.Lock()
	for id, sj := range batch {
		if cur, ok := h.unsaved[id]; ok && cur.rec.Result == sj.rec.Result {
			delete(h.unsaved, id)
		}
	}
	h.mu.Unlock()
	for id, sj := range batch {
		if sj.rec.Result == JobRunning {
			continue
		}
		if err := h.mirror(sj.rec, sj.lines); err != nil {
			h.base.Error("job history: store a finished job in the backend (again at the next start)", "job_id", id, "err", err)
		}
	}
}

func (h *History) mirror(rec JobRecord, lines []LogLine) error {
	if lines == nil {
		lines = []LogLine{}
	}
	obj, _ := json.Marshal(storedJob{Version: jobRecordVersion, Record: rec, Log: lines})
	ctx, cancel := context.WithTimeout(context.Background(), mirrorTimeout)
	defer cancel()
	if err := h.be.Put(ctx, jobHandle(rec.ID), bytes.NewReader(obj), int64(len(obj))); err != nil {
		return fmt.Errorf("mirror job %s: %w", rec.ID, err)
	}
	return nil
}

// open ends the jobs the index shows running (the server stopped while
// they ran) and reads the last backup results of each VM.
func (h *History) open() error {
	var stale []JobRecord
	err := h.idx.JobsNewestFirst(func(id string, b []byte) (bool, error) {
		rec, err := decodeJobRecord(b)
		if err != nil {
			h.base.Warn("job history: skipping a record", "job_id", id, "err", err)
			return true, nil
		}
		if rec.Result == JobRunning {
			stale = append(stale, rec)
		}
		h.mu.Lock()
		h.noteLocked(rec)
		h.mu.Unlock()
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("read job history: %w", err)
	}
	for _, rec := range stale {
		rec.Result, rec.End = JobFailed, h.now().UTC()
		rec.Error = "the server stopped while the job ran"
		h.mu.Lock()
		h.unsaved[rec.ID] = savedJob{rec: rec, lines: []LogLine{}}
		h.noteLocked(rec)
		h.mu.Unlock()
	}
	h.Flush()
	return nil
}

// expired reports whether a finished job is past the retention.
func (h *History) expired(rec JobRecord, cutoff time.Time) bool {
	if rec.Result == JobRunning {
		return false
	}
	end := rec.End
	if end.IsZero() {
		end = rec.Start
	}
	return end.Before(cutoff)
}

// Sweep removes the finished jobs that ended longer ago than the
// retention, from the backend and then the index, and returns how many.
func (h *History) Sweep(ctx context.Context) (int, error) {
	h.Flush()
	h.writing.Lock()
	defer h.writing.Unlock()
	cutoff := h.now().Add(-h.keep)
	var old []string
	err := h.idx.JobsNewestFirst(func(id string, b []byte) (bool, error) {
		if rec, err := decodeJobRecord(b); err == nil && h.expired(rec, cutoff) {
			old = append(old, id)
		}
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep job history: %w", err)
	}
	gone := old[:0]
	for _, id := range old {
		if err := h.be.Remove(ctx, jobHandle(id)); err != nil {
			h.base.Error("job history: remove an old job from the backend", "job_id", id, "err", err)
			continue
		}
		gone = append(gone, id)
	}
	if err := h.idx.DeleteJobs(gone); err != nil {
		return 0, fmt.Errorf("sweep job history: %w", err)
	}
	if len(gone) > 0 {
		h.base.Info("job history swept", "removed", len(gone), "older_than", cutoff.UTC().Format(time.RFC3339))
	}
	return len(gone), nil
}

// sync stores in the backend every finished job of the index it lacks,
// and with restore set also brings into the index the jobs the backend
// holds and the index lacks (after a rebuild of a lost index); it returns
// how many came back.
func (h *History) sync(ctx context.Context, restore bool, readObj func(backend.ObjectInfo) ([]byte, error)) (int, error) {
	h.Flush()
	h.writing.Lock()
	defer h.writing.Unlock()
	inBackend := map[string]backend.ObjectInfo{}
	if err := h.be.List(ctx, backend.TypeJob, func(fi backend.ObjectInfo) error {
		inBackend[fi.Handle.Name] = fi
		return nil
	}); err != nil {
		return 0, fmt.Errorf("list jobs: %w", err)
	}
	cutoff := h.now().Add(-h.keep)
	inIndex := map[string]bool{}
	var missing []string
	err := h.idx.JobsNewestFirst(func(id string, b []byte) (bool, error) {
		inIndex[id] = true
		rec, err := decodeJobRecord(b)
		if err == nil && rec.Result != JobRunning && !h.expired(rec, cutoff) {
			if _, ok := inBackend[id]; !ok {
				missing = append(missing, id)
			}
		}
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("read job history: %w", err)
	}
	for _, id := range missing {
		recb, logb, err := h.idx.Job(id)
		if err != nil {
			return 0, err
		}
		rec, err := decodeJobRecord(recb)
		if err != nil {
			continue
		}
		lines, _ := decodeJobLog(logb)
		if err := h.mirror(rec, lines); err != nil {
			return 0, err
		}
	}
	if !restore {
		return 0, nil
	}
	n := 0
	for id, fi := range inBackend {
		if inIndex[id] {
			continue
		}
		data, err := readObj(fi)
		if errors.Is(err, backend.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("read job %s: %w", id, err)
		}
		var sj storedJob
		if json.Unmarshal(data, &sj) != nil || sj.Version != jobRecordVersion || sj.Record.ID != id || sj.Record.Version != jobRecordVersion {
			h.base.Warn("job history: skipping a damaged job object", "object", fi.Handle.String())
			continue
		}
		if h.expired(sj.Record, cutoff) {
			continue // the next sweep of a server that keeps it longer would; this one does not
		}
		recb, _ := json.Marshal(sj.Record)
		if err := h.idx.PutJob(id, recb, encodeJobLog(sj.Log)); err != nil {
			return n, err
		}
		h.mu.Lock()
		h.noteLocked(sj.Record)
		h.mu.Unlock()
		n++
	}
	return n, nil
}
