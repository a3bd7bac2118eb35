package main

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// stderr is where every verb writes its log lines, its progress line and
// its error: one writer, so that they never overwrite each other.
var stderr = newConsole(os.Stderr)

// console serialises writes to a terminal or a log file and keeps a
// status line (the progress) at the bottom: a write clears the line,
// goes out whole, and the line is drawn again below it. The line is
// cleared with spaces rather than an escape sequence, which every
// terminal understands.
type console struct {
	mu     sync.Mutex
	w      io.Writer
	status string // the status line on screen, "" for none
}

func newConsole(w io.Writer) *console { return &console{w: w} }

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	n, err := c.w.Write(p)
	if c.status != "" {
		_, _ = io.WriteString(c.w, c.status)
	}
	return n, err
}

// show replaces the status line with line.
func (c *console) show(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	c.status = line
	_, _ = io.WriteString(c.w, line)
}

// clear removes the status line.
func (c *console) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	c.status = ""
}

func (c *console) eraseLocked() {
	if c.status == "" {
		return
	}
	_, _ = io.WriteString(c.w, "\r"+strings.Repeat(" ", utf8.RuneCountInString(c.status))+"\r")
}

// newLogger is the logger of every verb: slog's text format on stderr.
func newLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
