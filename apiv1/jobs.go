package apiv1

import "time"

// JobKind is what a job of the history did.
type JobKind string

// Job kinds.
const (
	JobBackup JobKind = "backup"
	JobPrune  JobKind = "prune"
	JobCheck  JobKind = "check"
	JobRepair JobKind = "repair"
	JobForget JobKind = "forget"
	JobSync   JobKind = "sync"
)

// Valid reports whether k is a kind.
func (k JobKind) Valid() bool {
	return k == JobBackup || k == JobPrune || k == JobCheck || k == JobRepair || k == JobForget || k == JobSync
}

// JobResult is how a job ended, or that it runs.
type JobResult string

// Job results.
const (
	JobRunning JobResult = "running"
	JobSuccess JobResult = "success"
	JobFailed  JobResult = "failed"
	JobAborted JobResult = "aborted"
)

// Valid reports whether r is a result.
func (r JobResult) Valid() bool {
	return r == JobRunning || r == JobSuccess || r == JobFailed || r == JobAborted
}

// JobTrigger is what started a job: "manual" (a backup without a
// schedule, or maintenance by the command line on the repository),
// "schedule" (a backup naming its schedule, or maintenance the server
// schedules itself) or "api" (maintenance asked for over the API).
type JobTrigger string

// Job triggers.
const (
	TriggerManual   JobTrigger = "manual"
	TriggerSchedule JobTrigger = "schedule"
	TriggerAPI      JobTrigger = "api"
)

// Valid reports whether t is a trigger.
func (t JobTrigger) Valid() bool {
	return t == TriggerManual || t == TriggerSchedule || t == TriggerAPI
}

// JobRecord is one job of the history: a backup (one session, from its
// opening to its end), a prune, check, repair (index) or forget.
type JobRecord struct {
	ID       string     `json:"id"`
	Kind     JobKind    `json:"kind"`
	Trigger  JobTrigger `json:"trigger"`
	Schedule string     `json:"schedule,omitempty"`
	Host     string     `json:"host,omitempty"`
	VM       string     `json:"vm,omitempty"`
	// SessionID is a backup's session; SnapshotID the snapshot a backup
	// made or a forget of one snapshot removed.
	SessionID  string    `json:"session_id,omitempty"`
	SnapshotID string    `json:"snapshot_id,omitempty"`
	Start      time.Time `json:"start"`
	// End is absent while the job runs.
	End    time.Time `json:"end,omitzero"`
	Result JobResult `json:"result"`
	Error  string    `json:"error,omitempty"`
	// Bytes are the bytes received for a backup (so far, while it runs),
	// the bytes freed by a prune.
	Bytes int64 `json:"bytes"`
	// NewBytes are the bytes a backup stored new.
	NewBytes int64 `json:"new_bytes,omitempty"`
	// Progress is a running backup's progress (absent once it ended).
	Progress *JobProgress `json:"progress,omitempty"`
	// Sync is what a sync job copied (so far, while it runs).
	Sync *SyncStats `json:"sync,omitempty"`
}

// JobProgress is how far a running backup is.
type JobProgress struct {
	BytesDone int64 `json:"bytes_done"`
	// BytesTotal is what the uploads announced (0: unknown).
	BytesTotal int64 `json:"bytes_total"`
}

// JobLogLine is one line of a job's log.
type JobLogLine struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Msg   string    `json:"msg"`
}

// JobDetail is the answer to GET /api/v1/jobs/{id}: the job and its log
// (at most about 200 lines; a line in the middle says how many were left
// out).
type JobDetail struct {
	JobRecord
	Log []JobLogLine `json:"log"`
}

// JobList is the answer to GET /api/v1/jobs: the job history, newest
// first, and the maintenance jobs' status.
type JobList struct {
	Jobs        []JobRecord `json:"jobs"`
	Maintenance []Job       `json:"maintenance"`
}
