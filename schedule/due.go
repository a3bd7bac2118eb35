package schedule

import "time"

// Due reports whether a VM whose last successful backup was at last (zero:
// none) is due at t, and the window it is due in: a backup should be done
// before its End.
func (s *Schedule) Due(t, last time.Time) (Window, bool) {
	if s.kind == KindInterval {
		if !last.IsZero() && t.Before(last.Add(s.interval)) {
			return Window{}, false
		}
		return Window{Start: t, End: t.Add(s.interval)}, true
	}
	w, ok := s.WindowAt(t)
	if !ok || !last.Before(w.Start) {
		return Window{}, false
	}
	return w, true
}

// LastWindow is the last window that should hold a backup of the VM, as
// of t: for a window schedule the latest that ended at or before t; for an
// interval schedule [last+I, last+2I), or with no success the interval
// that ended at t. The bool is false when there is none (a weekly window
// selecting no day cannot be parsed, so only an interval schedule's
// window may still be open).
func (s *Schedule) LastWindow(t, last time.Time) (Window, bool) {
	if s.kind == KindInterval {
		if last.IsZero() {
			return Window{Start: t.Add(-s.interval), End: t}, true
		}
		return Window{Start: last.Add(s.interval), End: last.Add(2 * s.interval)}, true
	}
	return s.lastEnded(t)
}

// Missed reports whether the VM missed its schedule at t: the last window
// that should hold a backup has ended, and the last success is from
// before it started.
func (s *Schedule) Missed(t, last time.Time) bool {
	w, ok := s.LastWindow(t, last)
	if !ok || w.End.After(t) {
		return false
	}
	return last.IsZero() || last.Before(w.Start)
}

// CurrentWindow is the window open at t, or else the last that ended: the
// window a status shows.
func (s *Schedule) CurrentWindow(t, last time.Time) (Window, bool) {
	if w, ok := s.WindowAt(t); ok {
		return w, true
	}
	return s.LastWindow(t, last)
}

// NextDue is when the VM is next due: t when it is due now, else the start
// of the next window (window schedule) or last+I (interval schedule).
func (s *Schedule) NextDue(t, last time.Time) time.Time {
	if _, ok := s.Due(t, last); ok {
		return t
	}
	if s.kind == KindInterval {
		return last.Add(s.interval)
	}
	next, _ := s.nextStart(t)
	return next
}
