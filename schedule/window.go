package schedule

import "time"

// maxDays is how far the window functions look around a time: a week
// and a day, enough for a weekly window over midnight.
const maxDays = 8

// windowOn is the window starting on the given calendar day in the
// schedule's zone, if that day is selected.
func (s *Schedule) windowOn(y int, m time.Month, d int) (Window, bool) {
	noon := time.Date(y, m, d, 12, 0, 0, 0, s.loc)
	if !s.days[noon.Weekday()] {
		return Window{}, false
	}
	y, m, d = noon.Date()
	start := wallTime(y, m, d, s.start, s.loc)
	endDay := d
	if s.end <= s.start {
		endDay++
	}
	end := wallTime(y, m, endDay, s.end, s.loc)
	if !end.After(start) {
		// Both ends in or around a gap (02:30-03:00 on a spring-forward
		// day): keep the window's wall-clock length.
		end = start.Add(time.Duration(s.end-s.start) * time.Minute)
	}
	return Window{Start: start, End: end}, true
}

// dayWindow is the window starting k days after t's day.
func (s *Schedule) dayWindow(t time.Time, k int) (Window, bool) {
	y, m, d := t.In(s.loc).Date()
	return s.windowOn(y, m, d+k)
}

// WindowAt returns the window of a window schedule that contains t.
func (s *Schedule) WindowAt(t time.Time) (Window, bool) {
	if s.kind != KindWindow {
		return Window{}, false
	}
	for k := 0; k >= -1; k-- {
		if w, ok := s.dayWindow(t, k); ok && w.Contains(t) {
			return w, true
		}
	}
	return Window{}, false
}

// lastEnded is the latest window of a window schedule that ended at or
// before t.
func (s *Schedule) lastEnded(t time.Time) (Window, bool) {
	for k := 0; k >= -maxDays; k-- {
		if w, ok := s.dayWindow(t, k); ok && !w.End.After(t) {
			return w, true
		}
	}
	return Window{}, false
}

// nextStart is the start of the first window of a window schedule that
// starts after t.
func (s *Schedule) nextStart(t time.Time) (time.Time, bool) {
	for k := 0; k <= maxDays; k++ {
		if w, ok := s.dayWindow(t, k); ok && w.Start.After(t) {
			return w.Start, true
		}
	}
	return time.Time{}, false
}
