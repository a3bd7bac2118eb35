package schedule

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	// The zone database is built in, so that zones resolve on Windows
	// and on minimal systems without one.
	_ "time/tzdata"
)

// ErrInvalid is wrapped by every error of a schedule that cannot be used.
var ErrInvalid = errors.New("invalid schedule")

// Kind says how a schedule says when.
type Kind int

// Kinds of schedules.
const (
	KindWindow Kind = 1 + iota
	KindInterval
)

func (k Kind) String() string {
	switch k {
	case KindWindow:
		return "window"
	case KindInterval:
		return "interval"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MinInterval is the shortest interval a schedule may have.
const MinInterval = 5 * time.Minute

// Spec is a schedule as written: the strings of the wire form. Either
// HasWindow (Days, Start, End, TimeZone) or Interval is set.
type Spec struct {
	Hosts, VMs string
	HasWindow  bool
	Days       []string // mon, tue, ...; none: every day
	Start, End string   // HH:MM
	TimeZone   string   // IANA name; empty: UTC
	Interval   string   // a Go duration, e.g. "6h"
}

// Schedule is a parsed schedule.
type Schedule struct {
	hosts, vms string
	kind       Kind
	days       [7]bool // by time.Weekday
	start, end Clock
	loc        *time.Location
	interval   time.Duration
}

// Window is a span of time [Start, End).
type Window struct {
	Start, End time.Time
}

// Contains reports whether t is inside the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse checks a spec and returns its schedule; errors wrap ErrInvalid.
func Parse(sp Spec) (*Schedule, error) {
	s := &Schedule{hosts: sp.Hosts, vms: sp.VMs}
	for _, p := range []string{sp.Hosts, sp.VMs} {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, ErrInvalid)
		}
	}
	switch {
	case sp.HasWindow && sp.Interval != "":
		return nil, fmt.Errorf("a window and an interval: give one: %w", ErrInvalid)
	case sp.HasWindow:
		return s, s.parseWindow(sp)
	case sp.Interval != "":
		d, err := time.ParseDuration(sp.Interval)
		if err != nil || d < MinInterval {
			return nil, fmt.Errorf("interval %q: want a duration of at least %v, like 6h: %w", sp.Interval, MinInterval, ErrInvalid)
		}
		s.kind, s.interval = KindInterval, d
		return s, nil
	}
	return nil, fmt.Errorf("neither a window nor an interval: %w", ErrInvalid)
}

func (s *Schedule) parseWindow(sp Spec) error {
	s.kind = KindWindow
	var err error
	if s.start, err = ParseClock(sp.Start); err != nil {
		return fmt.Errorf("window start: %w", err)
	}
	if s.end, err = ParseClock(sp.End); err != nil {
		return fmt.Errorf("window end: %w", err)
	}
	if s.start == s.end {
		return fmt.Errorf("window %v-%v is empty: %w", s.start, s.end, ErrInvalid)
	}
	if sp.TimeZone == "" {
		s.loc = time.UTC
	} else if s.loc, err = time.LoadLocation(sp.TimeZone); err != nil || strings.EqualFold(sp.TimeZone, "local") {
		return fmt.Errorf("time zone %q: want an IANA name like Europe/Berlin: %w", sp.TimeZone, ErrInvalid)
	}
	for _, d := range sp.Days {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			return fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat or sun: %w", d, ErrInvalid)
		}
		s.days[wd] = true
	}
	if len(sp.Days) == 0 {
		s.days = [7]bool{true, true, true, true, true, true, true}
	}
	return nil
}

// Kind is how the schedule says when.
func (s *Schedule) Kind() Kind { return s.kind }

// Interval is the interval of an interval schedule.
func (s *Schedule) Interval() time.Duration { return s.interval }

// Matches reports whether the schedule selects the host and VM ("" or
// "*": all).
func (s *Schedule) Matches(host, vm string) bool { return glob(s.hosts, host) && glob(s.vms, vm) }

func glob(pattern, name string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}
