package repo

import (
	"context"
	"errors"
	"fmt"
)

// Where jobs begin and end: a backup is its session (session.go and
// complete.go end it), the maintenance runs below.

type triggerKey struct{}

// WithJobTrigger tells the maintenance run under ctx what started it
// (default TriggerManual).
func WithJobTrigger(ctx context.Context, t JobTrigger) context.Context {
	return context.WithValue(ctx, triggerKey{}, t)
}

func triggerOf(ctx context.Context) JobTrigger {
	t, _ := ctx.Value(triggerKey{}).(JobTrigger)
	return t
}

// History returns the repository's job history.
func (r *Repository) History() *History { return r.history }

// Job returns the running job of a session (nil if it has none).
func (s *Session) Job() *JobRun { return s.job }

// beginBackup starts the job of a session.
func (h *History) beginBackup(s *Session) *JobRun {
	t := TriggerManual
	if s.Info.Schedule != "" {
		t = TriggerSchedule
	}
	return h.begin(JobRecord{Kind: JobBackup, Trigger: t, Schedule: s.Info.Schedule,
		Host: s.Info.Host, VM: s.Info.VM, SessionID: s.ID})
}

// endUnfinished ends a session's job that did not complete: aborted by
// its client after nothing went wrong, else failed (an upload or the
// complete failed, the session expired, the server stopped).
func (s *Session) endUnfinished(aborted bool, why error) {
	j := s.job
	if j == nil {
		return
	}
	if aborted && !j.hadError() {
		j.End(JobAborted, nil, nil)
		return
	}
	err := why
	if j.hadError() {
		j.mu.Lock()
		err = fmt.Errorf("%s; %w", j.rec.Error, why)
		j.mu.Unlock()
	}
	j.End(JobFailed, err, nil)
}

// runJob runs f as a job of the given kind and ends it with f's outcome.
func (r *Repository) runJob(ctx context.Context, rec JobRecord, f func(j *JobRun) error) {
	rec.Trigger = triggerOf(ctx)
	j := r.history.begin(rec)
	err := f(j)
	if err != nil {
		j.Logger().Error(rec.Kind.String()+" failed", "err", err)
		j.End(JobFailed, err, nil)
		return
	}
	j.End(JobSuccess, nil, nil)
}

// RunPrune prunes and records the run as the prune job and in the history.
func (r *Repository) RunPrune(ctx context.Context, o PruneOptions) (res PruneResult, err error) {
	r.jobs.begin("prune")
	r.runJob(ctx, JobRecord{Kind: JobPrune}, func(j *JobRun) error {
		j.Logger().Info("prune started", "grace", o.Grace.String(), "repack_below", o.RepackBelow)
		res, err = r.Prune(ctx, o)
		j.mu.Lock()
		j.rec.Bytes = res.BytesFreed
		j.mu.Unlock()
		if err == nil {
			j.Logger().Info("prune done", "packs_deleted", res.PacksDeleted, "packs_rewritten", res.PacksRewritten,
				"bytes_freed", res.BytesFreed, "chunks_removed", res.ChunksRemoved)
		}
		return err
	})
	r.jobs.end("prune", res, res.BytesFreed, err)
	return res, err
}

// errDamage fails a check job that found damage.
var errDamage = errors.New("the check found damage")

// RunCheck checks and records the run as the check job and in the
// history; a check that finds damage is a failed job.
func (r *Repository) RunCheck(ctx context.Context, o CheckOptions) (res CheckResult, err error) {
	r.jobs.begin("check")
	r.runJob(ctx, JobRecord{Kind: JobCheck}, func(j *JobRun) error {
		j.Logger().Info("check started", "read_data_percent", o.ReadDataPercent)
		if err = r.Refresh(ctx); err != nil { // a cluster node checks what the bucket holds now
			return err
		}
		res, err = r.CheckData(ctx, o)
		if err != nil {
			return err
		}
		for i, p := range res.Problems {
			if i == maxJobLines/2 {
				break
			}
			j.Logger().Warn("check: " + p)
		}
		j.Logger().Info("check done", "ok", res.OK, "snapshots", res.Snapshots, "chunks", res.Chunks,
			"packs", res.Packs, "packs_read", res.PacksRead, "problems", len(res.Problems))
		if !res.OK {
			return fmt.Errorf("%w: %d problems, %d damaged disks", errDamage, len(res.Problems), len(res.Damaged))
		}
		return nil
	})
	r.jobs.end("check", res, 0, err)
	return res, err
}

// RebuildIndex rebuilds the index and the catalogue from the backend (see
// rebuildIndex), recorded as a repair job.
func (r *Repository) RebuildIndex(ctx context.Context) (st RebuildStats, err error) {
	if r.cl != nil { // one maintenance job at a time in a cluster
		jctx, release, err := r.cl.acquire(ctx, "repair")
		if err != nil {
			return st, fmt.Errorf("rebuild index: %w", err)
		}
		defer release()
		ctx = jctx
	}
	r.runJob(ctx, JobRecord{Kind: JobRepair}, func(j *JobRun) error {
		j.Logger().Info("index rebuild started")
		st, err = r.rebuildIndex(ctx)
		if err == nil && r.cl != nil {
			err = r.cl.sync(ctx, true)
		}
		if err == nil {
			j.Logger().Info("index rebuilt", "packs", st.Packs, "chunks", st.Chunks, "snapshots", st.Snapshots,
				"skipped", len(st.Skipped), "tokens_restored", st.Tokens, "policies_restored", st.Policies)
		}
		return err
	})
	return st, err
}

// ForgetSnapshot forgets one snapshot (see forgetSnapshot), recorded as a
// forget job.
func (r *Repository) ForgetSnapshot(ctx context.Context, id string) (err error) {
	rec := JobRecord{Kind: JobForget, SnapshotID: id}
	if m, merr := r.Snapshot(id); merr == nil {
		rec.Host, rec.VM = m.Host, m.VM
	}
	r.runJob(ctx, rec, func(j *JobRun) error {
		err = r.forgetSnapshot(ctx, id)
		if err == nil {
			j.Logger().Info("snapshot forgotten", "snapshot", id)
		}
		return err
	})
	return err
}
