package repo

import "fmt"

// JobKind is what a job of the history did.
type JobKind int

// Job kinds.
const (
	JobBackup JobKind = 1 + iota
	JobPrune
	JobCheck
	JobRepair
	JobForget
	JobSync
)

var jobKindNames = []string{"", "backup", "prune", "check", "repair", "forget", "sync"}

func (k JobKind) String() string {
	if k <= 0 || int(k) >= len(jobKindNames) {
		return fmt.Sprintf("JobKind(%d)", int(k))
	}
	return jobKindNames[k]
}

// JobKinds lists every kind.
func JobKinds() []JobKind {
	return []JobKind{JobBackup, JobPrune, JobCheck, JobRepair, JobForget, JobSync}
}

// ParseJobKind reads a kind's name.
func ParseJobKind(s string) (JobKind, error) {
	for _, k := range JobKinds() {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("job kind %q: want backup, prune, check, repair, forget or sync", s)
}

// MarshalText writes the name.
func (k JobKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads the name.
func (k *JobKind) UnmarshalText(b []byte) error {
	v, err := ParseJobKind(string(b))
	*k = v
	return err
}

// JobResult is how a job ended, or that it runs.
type JobResult int

// Job results.
const (
	JobRunning JobResult = 1 + iota
	JobSuccess
	JobFailed
	JobAborted
)

var jobResultNames = []string{"", "running", "success", "failed", "aborted"}

func (r JobResult) String() string {
	if r <= 0 || int(r) >= len(jobResultNames) {
		return fmt.Sprintf("JobResult(%d)", int(r))
	}
	return jobResultNames[r]
}

// JobResults lists every result.
func JobResults() []JobResult { return []JobResult{JobRunning, JobSuccess, JobFailed, JobAborted} }

// ParseJobResult reads a result's name.
func ParseJobResult(s string) (JobResult, error) {
	for _, r := range JobResults() {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("job result %q: want running, success, failed or aborted", s)
}

// MarshalText writes the name.
func (r JobResult) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads the name.
func (r *JobResult) UnmarshalText(b []byte) error {
	v, err := ParseJobResult(string(b))
	*r = v
	return err
}

// JobTrigger is what started a job.
type JobTrigger int

// Job triggers.
const (
	// TriggerManual: a backup opened without a schedule, or maintenance
	// run by the command line on the repository itself.
	TriggerManual JobTrigger = 1 + iota
	// TriggerSchedule: a backup naming its schedule, or maintenance the
	// server runs by itself (serve --prune-interval, --check-interval).
	TriggerSchedule
	// TriggerAPI: maintenance asked for over the HTTP API.
	TriggerAPI
)

var jobTriggerNames = []string{"", "manual", "schedule", "api"}

func (t JobTrigger) String() string {
	if t <= 0 || int(t) >= len(jobTriggerNames) {
		return fmt.Sprintf("JobTrigger(%d)", int(t))
	}
	return jobTriggerNames[t]
}

// MarshalText writes the name.
func (t JobTrigger) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads the name.
func (t *JobTrigger) UnmarshalText(b []byte) error {
	for i, n := range jobTriggerNames {
		if i > 0 && n == string(b) {
			*t = JobTrigger(i)
			return nil
		}
	}
	return fmt.Errorf("job trigger %q: want manual, schedule or api", b)
}
