package schedule

import (
	"testing"
	"time"
)

func TestDueMissedNext(t *testing.T) {
	const ber = "Europe/Berlin"
	night := Spec{HasWindow: true, Start: "22:00", End: "04:00", TimeZone: ber}
	weekly := Spec{HasWindow: true, Start: "22:00", End: "04:00", TimeZone: ber, Days: []string{"fri"}}
	every6h := Spec{Interval: "6h"}
	type tc struct {
		name      string
		sp        Spec
		now, last string // Berlin wall time; last "" = never
		due       bool
		notAfter  string
		missed    bool
		nextDue   string
	}
	for _, c := range []tc{
		{"in window never backed up", night, "2026-06-10 23:00", "", true, "2026-06-11 04:00", true, "2026-06-10 23:00"},
		{"in window backed up before it", night, "2026-06-10 23:00", "2026-06-09 23:00", true, "2026-06-11 04:00", false, "2026-06-10 23:00"},
		{"in window already backed up", night, "2026-06-11 01:00", "2026-06-10 22:30", false, "", false, "2026-06-11 22:00"},
		{"outside window up to date", night, "2026-06-11 12:00", "2026-06-11 01:00", false, "", false, "2026-06-11 22:00"},
		{"outside window, last window empty", night, "2026-06-11 12:00", "2026-06-09 23:00", false, "", true, "2026-06-11 22:00"},
		{"manual catch-up after the window", night, "2026-06-11 12:00", "2026-06-11 08:00", false, "", false, "2026-06-11 22:00"},
		{"weekly, not friday", weekly, "2026-06-10 23:00", "2026-06-05 23:00", false, "", false, "2026-06-12 22:00"},
		{"weekly, last friday missed", weekly, "2026-06-16 10:00", "2026-06-05 23:00", false, "", true, "2026-06-19 22:00"},
		{"weekly friday night due", weekly, "2026-06-13 01:00", "2026-06-05 23:00", true, "2026-06-13 04:00", false, "2026-06-13 01:00"},
		{"interval never", every6h, "2026-06-10 12:00", "", true, "2026-06-10 18:00", true, "2026-06-10 12:00"},
		{"interval not yet", every6h, "2026-06-10 12:00", "2026-06-10 07:00", false, "", false, "2026-06-10 13:00"},
		{"interval due", every6h, "2026-06-10 13:00", "2026-06-10 07:00", true, "2026-06-10 19:00", false, "2026-06-10 13:00"},
		{"interval overdue past 2I", every6h, "2026-06-10 19:00", "2026-06-10 07:00", true, "2026-06-11 01:00", true, "2026-06-10 19:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, c.sp)
			now := at(t, ber, c.now)
			var last time.Time
			if c.last != "" {
				last = at(t, ber, c.last)
			}
			w, due := s.Due(now, last)
			if due != c.due {
				t.Errorf("Due = %v, want %v", due, c.due)
			}
			if due && !w.End.Equal(at(t, ber, c.notAfter)) {
				t.Errorf("not after %v, want %s", w.End, c.notAfter)
			}
			if got := s.Missed(now, last); got != c.missed {
				t.Errorf("Missed = %v, want %v", got, c.missed)
			}
			if got := s.NextDue(now, last); !got.Equal(at(t, ber, c.nextDue)) {
				t.Errorf("NextDue = %v, want %s", got, c.nextDue)
			}
		})
	}
}

// TestBackupOncePerWindow runs a fake agent every 10 minutes for two months
// of Berlin nights, DST change included: it backs up whenever Due says so.
// Invariants: every window gets exactly one backup, inside it, and no window
// is reported missed once the agent ran.
func TestBackupOncePerWindow(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	for _, sp := range []Spec{
		{HasWindow: true, Start: "22:00", End: "04:00", TimeZone: "Europe/Berlin"},
		{HasWindow: true, Start: "02:30", End: "03:30", TimeZone: "Europe/Berlin"},
		{HasWindow: true, Start: "01:30", End: "02:00", TimeZone: "America/New_York", Days: []string{"sun"}},
	} {
		s := mustParse(t, sp)
		var last time.Time
		perWindow := map[time.Time]int{}
		start := time.Date(2026, 2, 20, 0, 0, 0, 0, loc)
		for now := start; now.Before(start.AddDate(0, 10, 0)); now = now.Add(10 * time.Minute) {
			if w, ok := s.Due(now, last); ok {
				if !w.Contains(now) {
					t.Fatalf("%v: due at %v outside its window %v", sp, now, w)
				}
				perWindow[w.Start]++
				last = now
			}
			if s.Missed(now, last) && now.Sub(start) > 8*24*time.Hour {
				t.Fatalf("%v: missed at %v with last %v", sp, now, last)
			}
		}
		for ws, n := range perWindow {
			if n != 1 {
				t.Errorf("%v: window at %v got %d backups", sp, ws, n)
			}
		}
		if len(perWindow) == 0 {
			t.Errorf("%v: no backups", sp)
		}
	}
}
