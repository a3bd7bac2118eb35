package repo

import (
	"context"
	"time"
)

// SyncStats is what a sync job copied into this repository (package
// replicate runs it), kept in its job record.
type SyncStats struct {
	// Source is the source repository's id; URL where it was read ("":
	// opened directly).
	Source           string `json:"source"`
	URL              string `json:"url,omitempty"`
	Snapshots        int    `json:"snapshots"`
	SnapshotsSkipped int    `json:"snapshots_skipped"`
	ChunksSent       int64  `json:"chunks_sent"`
	ChunksSkipped    int64  `json:"chunks_skipped"`
	BytesSent        int64  `json:"bytes_sent"`
	BytesStored      int64  `json:"bytes_stored"`
	DisksVerified    int64  `json:"disks_verified,omitempty"`
}

// BeginSyncJob starts the job of a sync in the history: the caller ends
// it (JobRun.End) and updates its figures on the way (SetSync).
func (r *Repository) BeginSyncJob(trigger JobTrigger, url string) *JobRun {
	if trigger == 0 {
		trigger = TriggerManual
	}
	return r.history.begin(JobRecord{Kind: JobSync, Trigger: trigger, Sync: &SyncStats{URL: url}})
}

// SetSync replaces the sync figures of a running job.
func (j *JobRun) SetSync(st SyncStats) {
	if j == nil {
		return
	}
	j.mu.Lock()
	if !j.ended {
		j.rec.Sync = &st
		j.rec.Bytes = st.BytesSent
		j.rec.NewBytes = st.BytesStored
	}
	j.mu.Unlock()
}

// LastSyncs returns, per source repository id, when its last successful
// sync into this repository ended, from the job history.
func (r *Repository) LastSyncs() (map[string]time.Time, error) {
	list, err := r.history.List(JobFilter{Kind: JobSync, Result: JobSuccess, Limit: MaxJobLimit})
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, rec := range list {
		if rec.Sync == nil || rec.Sync.Source == "" {
			continue
		}
		if t := out[rec.Sync.Source]; rec.End.After(t) {
			out[rec.Sync.Source] = rec.End
		}
	}
	return out, nil
}

// TriggerOf returns what started the work of ctx (WithJobTrigger).
func TriggerOf(ctx context.Context) JobTrigger { return triggerOf(ctx) }
