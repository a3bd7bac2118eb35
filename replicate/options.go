package replicate

import (
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

// Options select what a sync copies and tune how.
type Options struct {
	// Host and VM are shell globs (path.Match; empty: every one).
	Host, VM string
	// MaxAge copies only snapshots younger than this (0: all).
	MaxAge time.Duration
	// KeepProtected marks a copy protected when the source's is.
	KeepProtected bool
	// Verify reads each copy back on the target before its commit and
	// checks each disk's original against the stream BLAKE3 of its
	// manifest (a local target only).
	Verify bool
	// Parallel is the chunk requests in flight (default 4).
	Parallel int
	// Batch is the chunk IDs of one request (default DefaultBatch, at
	// most apiv1.MaxChunksPerRequest).
	Batch int
	// Now is the clock of MaxAge (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Progress, if set, is called with the figures so far after each
	// snapshot and each batch of chunks (from several goroutines).
	Progress func(Stats)
}

// MaxParallel bounds Options.Parallel.
const MaxParallel = 32

// DefaultBatch is Options.Batch by default: 64 chunks of 128 KiB on
// average, 8 MiB a request, so that progress and a resumed sync lose
// little to an interrupted request.
const DefaultBatch = 64

func (o *Options) defaults() error {
	for _, g := range []string{o.Host, o.VM} {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("glob %q: %w", g, err)
		}
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	o.Parallel = min(o.Parallel, MaxParallel)
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	o.Batch = min(o.Batch, apiv1.MaxChunksPerRequest)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// selected reports whether a snapshot of host and vm taken at t is one
// to copy.
func (o *Options) selected(host, vm string, t time.Time) bool {
	if !globMatch(o.Host, host) || !globMatch(o.VM, vm) {
		return false
	}
	return o.MaxAge <= 0 || !t.Before(o.Now().Add(-o.MaxAge))
}

func globMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}
