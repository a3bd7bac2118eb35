package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/shadowvault/shadowvault/agent"
)

// How often progress is shown: redrawn on a terminal, logged elsewhere.
const (
	redrawEvery = 250 * time.Millisecond
	logEvery    = 10 * time.Second
)

// showProgress reports p while a transfer runs, on stderr: on a terminal
// a status line redrawn 4 times a second, below the log lines; elsewhere
// (a log file, a pipe) a log line every 10 s. enabled false shows
// nothing. It returns the function that ends it.
func showProgress(p *agent.Progress, what string, enabled bool) func() {
	if !enabled {
		return func() {}
	}
	if isTerminal(os.Stderr) {
		return startProgress(p, what, redrawEvery, func(s progressState) { stderr.show(s.line()) }, stderr.clear)
	}
	log := slog.Default()
	return startProgress(p, what, logEvery, func(s progressState) { log.Info(what+" progress", s.attrs()...) }, func() {})
}

// startProgress calls report every interval with the state of p, and
// done once after it was stopped.
func startProgress(p *agent.Progress, what string, every time.Duration, report func(progressState), done func()) func() {
	stop := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done()
				return
			case <-t.C:
			}
			report(progressState{what: what, elapsed: time.Since(start),
				done: p.Sent.Load(), total: p.Total.Load(), changed: p.Changed.Load(),
				streamed: p.Streamed.Load(), newBytes: p.New.Load()})
		}
	}()
	return func() { close(stop); <-finished }
}

// progressState is one reading of a transfer's progress.
type progressState struct {
	what                                     string
	elapsed                                  time.Duration
	done, total, changed, streamed, newBytes int64
}

func (s progressState) rate() float64 { return float64(s.done) / max(s.elapsed.Seconds(), 1e-3) }

// left is the estimated time to the end, 0 if unknown.
func (s progressState) left() time.Duration {
	if r := s.rate(); r > 0 && s.total > s.done {
		return (time.Duration(float64(s.total-s.done)/r) * time.Second).Round(time.Second)
	}
	return 0
}

// line is the status line of a terminal.
func (s progressState) line() string {
	line := fmt.Sprintf("%s: %s of %s  %s/s", s.what, humanBytes(s.done), humanBytes(s.total), humanBytes(int64(s.rate())))
	if l := s.left(); l > 0 {
		line += fmt.Sprintf("  %s left", l)
	}
	if s.changed > 0 {
		line += "  changed " + humanBytes(s.changed)
	}
	if s.streamed > 0 {
		line += fmt.Sprintf("  deduplicated %.0f%%", 100*(1-float64(s.newBytes)/float64(s.streamed)))
	}
	return line
}

// attrs are the fields of a progress log line.
func (s progressState) attrs() []any {
	a := []any{"done", humanBytes(s.done), "total", humanBytes(s.total), "rate", humanBytes(int64(s.rate())) + "/s"}
	if l := s.left(); l > 0 {
		a = append(a, "left", l)
	}
	if s.changed > 0 {
		a = append(a, "changed", humanBytes(s.changed))
	}
	if s.streamed > 0 {
		a = append(a, "deduplicated", fmt.Sprintf("%.0f%%", 100*(1-float64(s.newBytes)/float64(s.streamed))))
	}
	return a
}
