package repo

import (
	"context"
	"sync"
	"time"
)

// JobStatus is what the server shows about a maintenance job.
type JobStatus struct {
	Name       string    `json:"name"`
	Running    bool      `json:"running"`
	Interval   string    `json:"interval,omitempty"` // "" when not scheduled
	LastStart  time.Time `json:"last_start,omitempty"`
	LastEnd    time.Time `json:"last_end,omitempty"`
	LastResult any       `json:"last_result,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	Seconds    float64   `json:"seconds,omitempty"`
	BytesFreed int64     `json:"bytes_freed,omitempty"`
	Runs       int       `json:"runs"`
}

// Jobs records maintenance job runs (prune, check) and runs them on
// schedules.
type Jobs struct {
	mu     sync.Mutex
	status map[string]*JobStatus // guarded by mu
}

func newJobs() *Jobs {
	return &Jobs{status: map[string]*JobStatus{
		"prune": {Name: "prune"}, "check": {Name: "check"},
	}}
}

// Status returns every job's status.
func (j *Jobs) Status() []JobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	return []JobStatus{*j.status["prune"], *j.status["check"]}
}

func (j *Jobs) begin(name string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.status[name]
	s.Running, s.LastStart = true, time.Now().UTC()
}

func (j *Jobs) end(name string, result any, freed int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.status[name]
	s.Running, s.LastEnd, s.LastResult, s.BytesFreed = false, time.Now().UTC(), result, freed
	s.Seconds = s.LastEnd.Sub(s.LastStart).Seconds()
	s.Runs++
	s.LastError = ""
	if err != nil {
		s.LastError = err.Error()
	}
}

// Jobs returns the repository's job registry.
func (r *Repository) Jobs() *Jobs { return r.jobs }

// Schedule runs prune and check every interval (0: not scheduled) until
// ctx ends. Prune applies the stored policies first (forget), then prunes.
func (r *Repository) Schedule(ctx context.Context, prune, check time.Duration, po PruneOptions, co CheckOptions) {
	ctx = WithJobTrigger(ctx, TriggerSchedule)
	run := func(name string, every time.Duration, f func()) {
		if every <= 0 {
			return
		}
		r.jobs.mu.Lock()
		r.jobs.status[name].Interval = every.String()
		r.jobs.mu.Unlock()
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					f()
				}
			}
		}()
	}
	run("prune", prune, func() {
		if _, err := r.Forget(ctx, ForgetRequest{}); err != nil {
			r.log.Error("scheduled forget", "err", err)
			return
		}
		if _, err := r.RunPrune(ctx, po); err != nil {
			r.log.Error("scheduled prune", "err", err)
		}
	})
	run("check", check, func() {
		if res, err := r.RunCheck(ctx, co); err != nil {
			r.log.Error("scheduled check", "err", err)
		} else if !res.OK {
			r.log.Error("scheduled check found damage", "damaged", len(res.Damaged))
		}
	})
}
