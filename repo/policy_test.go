package repo

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func snapsAt(times ...string) []*Manifest {
	var out []*Manifest
	for i, ts := range times {
		t, err := time.Parse("2006-01-02 15:04", ts)
		if err != nil {
			panic(err)
		}
		out = append(out, &Manifest{ID: fmt.Sprintf("s%02d", i), Host: "HV01", VM: "VM1", Time: t})
	}
	return out
}

func ids(ds []Decision) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Snapshot)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func TestPolicySemantics(t *testing.T) {
	// s00..s09, oldest first
	series := snapsAt(
		"2025-12-30 10:00", // s00 2025, Dec, week 1 of 2026 (ISO)
		"2026-01-01 09:00", // s01 Jan 1
		"2026-01-01 18:00", // s02 Jan 1 (newest of the day)
		"2026-01-03 08:00", // s03 Jan 3 (Jan 2 has none)
		"2026-01-12 07:00", // s04 week 3
		"2026-01-12 07:30", // s05 same hour as s04
		"2026-02-02 12:00", // s06 Feb
		"2026-02-03 12:00", // s07
		"2026-02-03 13:00", // s08
		"2026-02-03 13:20", // s09 newest
	)
	for _, c := range []struct {
		name   string
		policy Policy
		keep   string
	}{
		{"empty policy keeps all", Policy{}, "s00,s01,s02,s03,s04,s05,s06,s07,s08,s09"},
		{"keep_last 3", Policy{KeepLast: 3}, "s07,s08,s09"},
		{"keep_hourly 2", Policy{KeepHourly: 2}, "s07,s09"},
		{"keep_daily 4 skips days without snapshots", Policy{KeepDaily: 4}, "s03,s05,s06,s09"},
		{"keep_daily 6", Policy{KeepDaily: 6}, "s00,s02,s03,s05,s06,s09"},
		{"keep_weekly 2", Policy{KeepWeekly: 2}, "s05,s09"},
		{"keep_monthly 2", Policy{KeepMonthly: 2}, "s05,s09"},
		{"keep_monthly 3", Policy{KeepMonthly: 3}, "s00,s05,s09"},
		{"keep_yearly 5", Policy{KeepYearly: 5}, "s00,s09"},
		{"keep_daily unlimited", Policy{KeepDaily: -1}, "s00,s02,s03,s05,s06,s09"},
		{"keep_within 25h of the newest", Policy{KeepWithin: "25h"}, "s07,s08,s09"},
		{"keep_last 1 and monthly 2", Policy{KeepLast: 1, KeepMonthly: 2}, "s05,s09"},
	} {
		t.Run(c.name, func(t *testing.T) {
			keep, remove := c.policy.Apply(series, nil)
			if got := ids(keep); got != c.keep {
				t.Fatalf("kept %s, want %s", got, c.keep)
			}
			if len(keep)+len(remove) != len(series) {
				t.Fatalf("%d kept + %d removed of %d", len(keep), len(remove), len(series))
			}
		})
	}
}

func TestPolicyReasons(t *testing.T) {
	series := snapsAt("2026-01-01 10:00", "2026-01-02 10:00")
	keep, _ := Policy{KeepLast: 1, KeepDaily: 2}.Apply(series, nil)
	for _, d := range keep {
		if d.Snapshot == "s01" && !(slices.Contains(d.Reasons, "last snapshot") && slices.Contains(d.Reasons, "daily snapshot")) {
			t.Fatalf("s01 reasons %v", d.Reasons)
		}
		if d.Snapshot == "s00" && !slices.Equal(d.Reasons, []string{"daily snapshot"}) {
			t.Fatalf("s00 reasons %v", d.Reasons)
		}
	}
}

// TestProtectedSurvivesEveryPolicy: no policy removes a protected snapshot.
func TestProtectedSurvivesEveryPolicy(t *testing.T) {
	series := snapsAt("2020-01-01 00:00", "2026-01-01 00:00", "2026-01-02 00:00")
	protected := map[string]bool{"s00": true}
	for _, p := range []Policy{
		{KeepLast: 1}, {KeepHourly: 1}, {KeepDaily: 1}, {KeepWeekly: 1}, {KeepMonthly: 1}, {KeepYearly: 1}, {KeepWithin: "1h"},
	} {
		keep, remove := p.Apply(series, protected)
		if !strings.Contains(ids(keep), "s00") || strings.Contains(ids(remove), "s00") {
			t.Fatalf("policy %+v removed the protected snapshot", p)
		}
		for _, d := range keep {
			if d.Snapshot == "s00" && d.Reasons[0] != "protected" {
				t.Fatalf("reasons %v", d.Reasons)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	m := Match{Host: "HV0*", VM: "SQL*"}
	if !m.Matches("HV01", "SQL01") || m.Matches("HV11", "SQL01") || m.Matches("HV01", "EX01") {
		t.Fatal("glob match wrong")
	}
	if !(Match{}).Matches("any", "thing") {
		t.Fatal("empty match must match all")
	}
	if (Policy{Match: Match{Host: "["}}).Validate() == nil || (Policy{KeepWithin: "3 days"}).Validate() == nil {
		t.Fatal("invalid policy accepted")
	}
}
