package repo

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// A job's log is the server's log records made while the job ran that
// name it: a "job" attribute (JobRun.Logger), or a "session" attribute of
// a backup's session. The handler below tees them into the job, and
// passes every record on to the server's handler as before. A log is
// bounded, whatever a client makes the server log: at most maxJobLines
// lines of at most maxLineLen bytes; past that the first half and the
// latest lines are kept, and the record says how many were left out.

// jobAttr is the attribute that names a record's job.
const jobAttr = "job"

const (
	maxJobLines = 200
	maxLineLen  = 512
)

// LogLine is one line of a job's log.
type LogLine struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Msg   string    `json:"msg"`
}

// jobLog is a bounded log: the first maxJobLines/2 lines, then the latest.
type jobLog struct {
	kept    []LogLine
	dropped int
}

func (l *jobLog) add(line LogLine) {
	if len(l.kept) == maxJobLines {
		half := maxJobLines / 2
		copy(l.kept[half:], l.kept[half+1:])
		l.kept = l.kept[:len(l.kept)-1]
		l.dropped++
	}
	l.kept = append(l.kept, line)
}

// lines returns a copy of the log, with a line in the middle saying how
// many lines were left out.
func (l *jobLog) lines() []LogLine {
	out := make([]LogLine, 0, len(l.kept)+1)
	if l.dropped == 0 {
		return append(out, l.kept...)
	}
	half := maxJobLines / 2
	out = append(out, l.kept[:half]...)
	out = append(out, LogLine{Time: l.kept[half].Time, Level: slog.LevelWarn.String(),
		Msg: "(" + itoa(l.dropped) + " log lines left out)"})
	return append(out, l.kept[half:]...)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// truncate cuts s to at most n bytes, at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// Handler returns a slog.Handler that passes records to next and adds
// those naming a running job to its log.
func (h *History) Handler(next slog.Handler) slog.Handler {
	return &teeHandler{next: next, h: h}
}

type teeHandler struct {
	next slog.Handler
	h    *History
	// job and session are attributes bound by WithAttrs; attrs are the
	// others, for the job's line.
	job, session string
	attrs        []slog.Attr
	grouped      bool // WithGroup was called: later attributes are not ours
}

// Enabled takes Info and above for job logs, whatever the server logs.
func (t *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || t.next.Enabled(ctx, l)
}

func (t *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		t.tee(r)
	}
	if !t.next.Enabled(ctx, r.Level) {
		return nil
	}
	return t.next.Handle(ctx, r)
}

func (t *teeHandler) tee(r slog.Record) {
	job, session := t.job, t.session
	if !t.grouped {
		r.Attrs(func(a slog.Attr) bool {
			switch {
			case a.Key == jobAttr:
				job = a.Value.String()
			case a.Key == "session" && session == "":
				session = a.Value.String()
			}
			return true
		})
	}
	if job == "" && session == "" {
		return // most records: nothing to format
	}
	j := t.h.runOf(job, session)
	if j == nil {
		return
	}
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		if b.Len() > maxLineLen || !t.grouped && a.Key == jobAttr {
			return true
		}
		b.WriteByte(' ')
		b.WriteString(a.Key)
		b.WriteByte('=')
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \"=") || v == "" {
			v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		}
		b.WriteString(v)
		return true
	}
	for _, a := range t.attrs {
		write(a)
	}
	r.Attrs(write)
	line := LogLine{Time: r.Time.UTC(), Level: r.Level.String(), Msg: truncate(b.String(), maxLineLen)}
	j.mu.Lock()
	if !j.ended {
		j.log.add(line)
	}
	j.mu.Unlock()
}

func (t *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *t
	c.next = t.next.WithAttrs(attrs)
	c.attrs = append([]slog.Attr(nil), t.attrs...)
	if t.grouped {
		c.attrs = append(c.attrs, attrs...)
		return &c
	}
	for _, a := range attrs {
		switch a.Key {
		case jobAttr:
			c.job = a.Value.String()
			continue
		case "session":
			c.session = a.Value.String()
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (t *teeHandler) WithGroup(name string) slog.Handler {
	c := *t
	c.grouped = true
	c.next = t.next.WithGroup(name)
	return &c
}
