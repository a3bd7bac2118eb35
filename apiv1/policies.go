package apiv1

// Policy is a retention policy: PUT, GET and DELETE
// /api/v1/policies/{name}. A snapshot is kept when any rule keeps it.
// Calendar rules keep the newest snapshot of each of the last N periods
// that have snapshots; a negative count means unlimited; a policy with no
// rule keeps everything.
type Policy struct {
	Match       Match  `json:"match"`
	KeepLast    int    `json:"keep_last,omitempty"`
	KeepHourly  int    `json:"keep_hourly,omitempty"`
	KeepDaily   int    `json:"keep_daily,omitempty"`
	KeepWeekly  int    `json:"keep_weekly,omitempty"`
	KeepMonthly int    `json:"keep_monthly,omitempty"`
	KeepYearly  int    `json:"keep_yearly,omitempty"`
	KeepWithin  string `json:"keep_within,omitempty"` // a Go duration, e.g. "720h"
}

// Match selects snapshots by host and VM with shell globs ("" or "*": all).
type Match struct {
	Host string `json:"host,omitempty"`
	VM   string `json:"vm,omitempty"`
}

// PolicyList is the answer to GET /api/v1/policies: the stored policies by
// name.
type PolicyList struct {
	Policies map[string]Policy `json:"policies"`
}

// NamedPolicy is the answer to storing a policy.
type NamedPolicy struct {
	Name   string `json:"name"`
	Policy Policy `json:"policy"`
}

// PolicyDeleted is the answer to deleting a policy.
type PolicyDeleted struct {
	Deleted bool   `json:"deleted"`
	Name    string `json:"name"`
}

// ForgetRequest applies a policy, or with none the stored policies, to the
// snapshots of each host and VM it selects: POST /api/v1/forget. A dry run
// only says what would be kept and removed.
type ForgetRequest struct {
	Host   string  `json:"host"`
	VM     string  `json:"vm"`
	Policy *Policy `json:"policy"`
	DryRun bool    `json:"dry_run"`
}

// ForgetResult lists every snapshot considered, kept (with the rules that
// kept it) or removed.
type ForgetResult struct {
	Keep   []Decision `json:"keep"`
	Remove []Decision `json:"remove"`
	DryRun bool       `json:"dry_run"`
}

// Decision is what a forget did with one snapshot.
type Decision struct {
	Snapshot string   `json:"snapshot"`
	Host     string   `json:"host"`
	VM       string   `json:"vm"`
	Time     string   `json:"time"` // RFC 3339
	Reasons  []string `json:"reasons,omitempty"`
}
