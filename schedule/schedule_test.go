package schedule

import (
	"errors"
	"testing"
	"time"
)

func mustParse(t *testing.T, sp Spec) *Schedule {
	t.Helper()
	s, err := Parse(sp)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseRefuses(t *testing.T) {
	for name, sp := range map[string]Spec{
		"nothing":       {},
		"both":          {HasWindow: true, Start: "22:00", End: "04:00", Interval: "6h"},
		"bad glob":      {Hosts: "[", Interval: "6h"},
		"bad start":     {HasWindow: true, Start: "24:00", End: "04:00"},
		"no colon":      {HasWindow: true, Start: "2200", End: "04:00"},
		"one digit":     {HasWindow: true, Start: "2:00", End: "04:00"},
		"bad end":       {HasWindow: true, Start: "22:00", End: "04:60"},
		"empty":         {HasWindow: true, Start: "22:00", End: "22:00"},
		"bad day":       {HasWindow: true, Start: "22:00", End: "04:00", Days: []string{"monday"}},
		"bad zone":      {HasWindow: true, Start: "22:00", End: "04:00", TimeZone: "Mars/Olympus"},
		"local zone":    {HasWindow: true, Start: "22:00", End: "04:00", TimeZone: "Local"},
		"bad interval":  {Interval: "often"},
		"tiny interval": {Interval: "1m"},
		"neg interval":  {Interval: "-6h"},
	} {
		if _, err := Parse(sp); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Parse = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := Parse(Spec{HasWindow: true, Start: "22:00", End: "04:00", TimeZone: "Europe/Berlin", Days: []string{"Mon", "sun"}}); err != nil {
		t.Errorf("good window refused: %v", err)
	}
}

func TestWindowAt(t *testing.T) {
	const ber, ny = "Europe/Berlin", "America/New_York"
	type tc struct {
		name       string
		sp         Spec
		zone, now  string
		in         bool
		start, end string // in zone, when in
	}
	night := Spec{HasWindow: true, Start: "22:00", End: "04:00", TimeZone: ber}
	weekly := Spec{HasWindow: true, Start: "22:00", End: "04:00", TimeZone: ber, Days: []string{"fri"}}
	day := Spec{HasWindow: true, Start: "02:30", End: "05:00", TimeZone: ber}
	nyDay := Spec{HasWindow: true, Start: "02:30", End: "05:00", TimeZone: ny}
	nyNight := Spec{HasWindow: true, Start: "01:30", End: "01:45", TimeZone: ny}
	for _, c := range []tc{
		{"before midnight", night, ber, "2026-06-10 23:00", true, "2026-06-10 22:00", "2026-06-11 04:00"},
		{"after midnight", night, ber, "2026-06-11 03:59", true, "2026-06-10 22:00", "2026-06-11 04:00"},
		{"at end", night, ber, "2026-06-11 04:00", false, "", ""},
		{"at start", night, ber, "2026-06-10 22:00", true, "2026-06-10 22:00", "2026-06-11 04:00"},
		{"daytime", night, ber, "2026-06-10 12:00", false, "", ""},
		// 2026-06-12 is a Friday: its window runs into Saturday.
		{"weekly friday night", weekly, ber, "2026-06-12 23:00", true, "2026-06-12 22:00", "2026-06-13 04:00"},
		{"weekly saturday morning", weekly, ber, "2026-06-13 01:00", true, "2026-06-12 22:00", "2026-06-13 04:00"},
		{"weekly saturday night", weekly, ber, "2026-06-13 23:00", false, "", ""},
		{"weekly thursday morning", weekly, ber, "2026-06-11 01:00", false, "", ""},
		// Spring forward in Berlin, 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 moves to 03:30.
		{"berlin spring gap", day, ber, "2026-03-29 03:45", true, "2026-03-29 03:30", "2026-03-29 05:00"},
		{"berlin spring before", day, ber, "2026-03-29 03:15", false, "", ""},
		// Fall back, 2026-10-25 03:00 CEST -> 02:00 CET: the first 02:30.
		{"ny spring gap", nyDay, ny, "2026-03-08 03:40", true, "2026-03-08 03:30", "2026-03-08 05:00"},
		{"ny spring before", nyDay, ny, "2026-03-08 03:20", false, "", ""},
		{"ny fall first 01:30", nyNight, ny, "2026-11-01 01:40", true, "2026-11-01 01:30", "2026-11-01 01:45"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, c.sp)
			now := at(t, c.zone, c.now)
			w, ok := s.WindowAt(now)
			if ok != c.in {
				t.Fatalf("WindowAt(%v) = %v, %v; want in=%v", now, w, ok, c.in)
			}
			if !ok {
				return
			}
			if ws, we := at(t, c.zone, c.start), at(t, c.zone, c.end); !w.Start.Equal(ws) || !w.End.Equal(we) {
				t.Errorf("window %v - %v, want %v - %v", w.Start, w.End, ws, we)
			}
		})
	}
}

// TestFallBackFirstOccurrence: on the fall-back day the window starts at
// the first of the two 01:30s, not the second.
func TestFallBackFirstOccurrence(t *testing.T) {
	s := mustParse(t, Spec{HasWindow: true, Start: "01:30", End: "01:45", TimeZone: "America/New_York"})
	w, ok := s.WindowAt(time.Date(2026, 11, 1, 5, 35, 0, 0, time.UTC)) // 01:35 EDT, the first
	if !ok || !w.Start.Equal(time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)) {
		t.Fatalf("window %v, %v; want start 05:30 UTC (01:30 EDT)", w, ok)
	}
	if _, ok := s.WindowAt(time.Date(2026, 11, 1, 6, 35, 0, 0, time.UTC)); ok { // 01:35 EST, the second
		t.Fatalf("the second 01:35 is inside a window too: the window doubled")
	}
	// Berlin, 2026-10-25: 02:30 CEST (00:30 UTC) is the first 02:30.
	b := mustParse(t, Spec{HasWindow: true, Start: "02:30", End: "05:00", TimeZone: "Europe/Berlin"})
	w, ok = b.WindowAt(time.Date(2026, 10, 25, 3, 0, 0, 0, time.UTC))
	if !ok || !w.Start.Equal(time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)) || !w.End.Equal(time.Date(2026, 10, 25, 4, 0, 0, 0, time.UTC)) {
		t.Fatalf("Berlin fall-back window %v, %v; want 00:30-04:00 UTC", w, ok)
	}
}

// TestOneWindowPerDay walks a year minute by quarter hour in both zones and
// over every kind of window, and holds that each calendar day has exactly one
// window start, windows never overlap, and each window's start shows the
// wall time asked for or one inside a gap moved forward.
func TestOneWindowPerDay(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe"} {
		for _, w := range [][2]string{{"22:00", "04:00"}, {"02:30", "03:00"}, {"01:30", "02:30"}, {"00:00", "23:59"}, {"02:15", "02:45"}} {
			s := mustParse(t, Spec{HasWindow: true, Start: w[0], End: w[1], TimeZone: zone})
			loc, _ := time.LoadLocation(zone)
			starts := map[string]int{}
			var prev Window
			for now := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); now.Year() == 2026; now = now.Add(15 * time.Minute) {
				cur, ok := s.WindowAt(now)
				if !ok {
					continue
				}
				if cur != prev {
					if !prev.Start.IsZero() && cur.Start.Before(prev.End) {
						t.Fatalf("%s %v: window %v overlaps %v", zone, w, cur, prev)
					}
					if cur.Start.In(loc).Year() == 2026 {
						starts[cur.Start.In(loc).Format("2006-01-02")]++
					}
					prev = cur
				}
				if !cur.End.After(cur.Start) {
					t.Fatalf("%s %v: empty window %v", zone, w, cur)
				}
			}
			for d, n := range starts {
				if n != 1 {
					t.Errorf("%s %v: %d windows start on %s", zone, w, n, d)
				}
			}
			// A window of at least 15 minutes is seen on every day of the year.
			if len(starts) != 365 {
				t.Errorf("%s %v: windows on %d days of 2026, want 365", zone, w, len(starts))
			}
		}
	}
}
