package retry

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Backend retries the transient failures of the backend it wraps.
type Backend struct {
	backend.Backend
	opts Options
}

var _ backend.Backend = (*Backend)(nil)

// New wraps b.
func New(b backend.Backend, opts Options) *Backend {
	return &Backend{Backend: b, opts: opts.withDefaults()}
}

// Put stores r under h, seeking r back to its starting position before
// each retry.
func (b *Backend) Put(ctx context.Context, h backend.Handle, r io.ReadSeeker, size int64) error {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	attempt := 0
	return b.do(ctx, "put", h, func() error {
		attempt++
		if attempt > 1 {
			if _, err := r.Seek(start, io.SeekStart); err != nil {
				return fmt.Errorf("put %s: rewind for retry: %w", h, err)
			}
		}
		return b.Backend.Put(ctx, h, r, size)
	})
}

// ReadAt reads p at off, reading all of p again on a retry.
func (b *Backend) ReadAt(ctx context.Context, h backend.Handle, p []byte, off int64) (n int, err error) {
	err = b.do(ctx, "read", h, func() error {
		n, err = b.Backend.ReadAt(ctx, h, p, off)
		return err
	})
	return n, err
}

// Stat returns the size of h.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (fi backend.ObjectInfo, err error) {
	err = b.do(ctx, "stat", h, func() error {
		fi, err = b.Backend.Stat(ctx, h)
		return err
	})
	return fi, err
}

// List calls fn once for every object of type t. When the listing fails
// part way it starts over and skips the objects fn has seen. An error from
// fn is never retried.
func (b *Backend) List(ctx context.Context, t backend.Type, fn func(backend.ObjectInfo) error) error {
	seen := make(map[string]bool)
	var fnErr error
	err := b.do(ctx, "list", t, func() error {
		err := b.Backend.List(ctx, t, func(fi backend.ObjectInfo) error {
			if seen[fi.Handle.Name] {
				return nil
			}
			seen[fi.Handle.Name] = true
			fnErr = fn(fi)
			return fnErr
		})
		if fnErr != nil {
			return errStopped // final, whatever fn's error wraps
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// errStopped tells do that fn stopped the listing.
var errStopped = errors.New("stopped by the callback")

// Remove deletes h.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	return b.do(ctx, "remove", h, func() error { return b.Backend.Remove(ctx, h) })
}
