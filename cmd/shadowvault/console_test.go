package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
)

// TestConsoleKeepsLogAndProgressApart: a log line written while a
// progress line is on screen erases it first, comes out whole on a line of
// its own, and the progress line is drawn again below it.
func TestConsoleKeepsLogAndProgressApart(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out)
	log := slog.New(slog.NewTextHandler(c, nil))
	c.show("backup: 1.0 MiB of 4.0 MiB")
	log.Info("disk sent", "disk", "a.raw")
	c.show("backup: 2.0 MiB of 4.0 MiB")
	c.clear()
	log.Info("backup complete")

	erase := "\r" + strings.Repeat(" ", len("backup: 1.0 MiB of 4.0 MiB")) + "\r"
	s := out.String()
	first := strings.Index(s, "time=")
	if first < 0 || !strings.HasPrefix(s, "backup: 1.0 MiB of 4.0 MiB"+erase) {
		t.Fatalf("the log line did not erase the progress line first: %q", s)
	}
	rest := s[first:]
	line, after, _ := strings.Cut(rest, "\n")
	if !strings.Contains(line, `msg="disk sent" disk=a.raw`) || strings.Contains(line, "\r") {
		t.Fatalf("the log line is not whole: %q", line)
	}
	if !strings.HasPrefix(after, "backup: 1.0 MiB of 4.0 MiB"+erase+"backup: 2.0 MiB of 4.0 MiB"+erase+"time=") {
		t.Fatalf("after the log line: %q", after)
	}
	if !strings.HasSuffix(s, "msg=\"backup complete\"\n") {
		t.Fatalf("a cleared progress line came back: %q", s)
	}
}

// TestConsoleConcurrent: log lines from many goroutines and progress
// updates never interleave within a line.
func TestConsoleConcurrent(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out)
	log := slog.New(slog.NewTextHandler(c, nil))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				log.Info("line", "worker", i, "n", j)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				c.show("progress " + strings.Repeat("#", j%20))
			}
		}()
	}
	wg.Wait()
	c.clear()
	n := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if i := strings.Index(l, "time="); i >= 0 {
			n++
			if !strings.Contains(l[i:], `msg=line worker=`) || strings.Contains(l[i:], "\r") || strings.Contains(l[i:], "progress") {
				t.Fatalf("a mixed line: %q", l)
			}
		}
	}
	if n != 400 {
		t.Fatalf("%d log lines, want 400", n)
	}
}

// TestProgressLogLines: where stderr is no terminal, progress comes as log
// lines at the interval, in the log's format, never as carriage returns.
func TestProgressLogLines(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out)
	log := slog.New(slog.NewTextHandler(c, nil))
	p := &agent.Progress{}
	p.Total.Store(8 << 20)
	p.Sent.Store(2 << 20)
	stop := startProgress(p, "restore", 20*time.Millisecond, func(s progressState) { log.Info(s.what+" progress", s.attrs()...) }, func() {})
	time.Sleep(110 * time.Millisecond)
	stop()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 2 || strings.Contains(out.String(), "\r") {
		t.Fatalf("progress log: %q", out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") || !strings.Contains(l, `level=INFO msg="restore progress" done="2.0 MiB" total="8.0 MiB"`) {
			t.Fatalf("progress line %q", l)
		}
	}
}

func TestProgressLine(t *testing.T) {
	s := progressState{what: "backup", elapsed: 2 * time.Second, done: 4 << 20, total: 12 << 20, streamed: 4 << 20, newBytes: 1 << 20}
	if got, want := s.line(), "backup: 4.0 MiB of 12.0 MiB  2.0 MiB/s  4s left  deduplicated 75%"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}
