package repo

import (
	"fmt"
	"path"
	"sort"
	"time"
)

// Policy is a retention policy, with restic's forget semantics: a snapshot
// is kept when any rule keeps it. Calendar rules keep the newest snapshot of
// each of the last N periods that have snapshots (periods without snapshots
// are skipped, not counted). A negative count means unlimited. A policy with
// no rule keeps everything.
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

// Matches reports whether the snapshot's host and VM match.
func (m Match) Matches(host, vm string) bool {
	return glob(m.Host, host) && glob(m.VM, vm)
}

func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// Validate checks the policy.
func (p Policy) Validate() error {
	for _, pat := range []string{p.Match.Host, p.Match.VM} {
		if _, err := path.Match(pat, ""); err != nil {
			return fmt.Errorf("policy: bad pattern %q", pat)
		}
	}
	if p.KeepWithin != "" {
		if d, err := time.ParseDuration(p.KeepWithin); err != nil || d < 0 {
			return fmt.Errorf("policy: keep_within %q is not a duration like 720h", p.KeepWithin)
		}
	}
	return nil
}

func (p Policy) empty() bool {
	return p.KeepLast == 0 && p.KeepHourly == 0 && p.KeepDaily == 0 && p.KeepWeekly == 0 &&
		p.KeepMonthly == 0 && p.KeepYearly == 0 && p.KeepWithin == ""
}

// Decision says what a policy does with one snapshot.
type Decision struct {
	Snapshot string   `json:"snapshot"`
	Host     string   `json:"host"`
	VM       string   `json:"vm"`
	Time     string   `json:"time"`
	Reasons  []string `json:"reasons,omitempty"`
}

type bucketRule struct {
	name  string
	count int
	key   func(time.Time) string
}

// Apply decides, for snapshots of one host and VM, which to keep (with the
// rules that kept them) and which to remove. Protected snapshots are always
// kept.
func (p Policy) Apply(snaps []*Manifest, protected map[string]bool) (keep, remove []Decision) {
	sorted := append([]*Manifest(nil), snaps...)
	// Newest first; IDs begin with their creation time, so they break ties
	// between snapshots of the same second.
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		return a.Time.After(b.Time) || a.Time.Equal(b.Time) && a.ID > b.ID
	})
	reasons := make([][]string, len(sorted))
	if p.empty() {
		for i := range reasons {
			reasons[i] = append(reasons[i], "no retention rule")
		}
	}
	rules := []bucketRule{
		{"last snapshot", p.KeepLast, func(t time.Time) string { return t.Format(time.RFC3339Nano) }},
		{"hourly snapshot", p.KeepHourly, func(t time.Time) string { return t.UTC().Format("2006-01-02T15") }},
		{"daily snapshot", p.KeepDaily, func(t time.Time) string { return t.UTC().Format("2006-01-02") }},
		{"weekly snapshot", p.KeepWeekly, func(t time.Time) string {
			y, w := t.UTC().ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		}},
		{"monthly snapshot", p.KeepMonthly, func(t time.Time) string { return t.UTC().Format("2006-01") }},
		{"yearly snapshot", p.KeepYearly, func(t time.Time) string { return t.UTC().Format("2006") }},
	}
	for _, r := range rules {
		if r.count == 0 {
			continue
		}
		left, last := r.count, ""
		for i, m := range sorted {
			if left == 0 {
				break
			}
			k := r.key(m.Time)
			if r.name == "last snapshot" {
				k = m.ID // every snapshot is its own "period"
			}
			if k == last {
				continue
			}
			last = k
			reasons[i] = append(reasons[i], r.name)
			if left > 0 {
				left--
			}
		}
	}
	if d, err := time.ParseDuration(p.KeepWithin); err == nil && p.KeepWithin != "" && len(sorted) > 0 {
		newest := sorted[0].Time
		for i, m := range sorted {
			if !m.Time.Before(newest.Add(-d)) {
				reasons[i] = append(reasons[i], "within "+p.KeepWithin)
			}
		}
	}
	for i, m := range sorted {
		if protected[m.ID] {
			reasons[i] = append([]string{"protected"}, reasons[i]...)
		}
		d := Decision{Snapshot: m.ID, Host: m.Host, VM: m.VM, Time: m.Time.UTC().Format(time.RFC3339), Reasons: reasons[i]}
		if len(reasons[i]) > 0 {
			keep = append(keep, d)
		} else {
			remove = append(remove, d)
		}
	}
	return keep, remove
}
