package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day, in minutes after midnight (0-1439).
type Clock int

// ParseClock reads "HH:MM" (00:00 to 23:59).
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM: %w", s, ErrInvalid)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("time %q: want HH:MM from 00:00 to 23:59: %w", s, ErrInvalid)
	}
	return Clock(hh*60 + mm), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// wallTime is the instant the clocks of loc show c on the given day (its
// month and day may overflow, as time.Date's). A time that does not exist
// that day (in a spring-forward gap) moves forward by the gap; one that
// exists twice is its first occurrence. time.Date leaves both unspecified
// (it differs between zones), so the choice is made here.
func wallTime(y int, mo time.Month, d int, c Clock, loc *time.Location) time.Time {
	naive := time.Date(y, mo, d, int(c)/60, int(c)%60, 0, 0, time.UTC)
	y, mo, d = naive.Date()
	_, before := naive.Add(-26 * time.Hour).In(loc).Zone()
	_, after := naive.Add(26 * time.Hour).In(loc).Zone()
	var found []time.Time
	for _, off := range []int{before, after} {
		t := naive.Add(-time.Duration(off) * time.Second).In(loc)
		ty, tm, td := t.Date()
		if ty == y && tm == mo && td == d && t.Hour()*60+t.Minute() == int(c) {
			found = append(found, t)
		}
	}
	switch {
	case len(found) == 0:
		// In the gap: the offset before the change, read after it, is
		// the wall time moved forward by the gap.
		return naive.Add(-time.Duration(before) * time.Second).In(loc)
	case len(found) == 2 && found[1].Before(found[0]):
		return found[1]
	}
	return found[0]
}
