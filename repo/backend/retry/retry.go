package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Options tune the retries. Zero fields take the defaults in parentheses.
type Options struct {
	MaxAttempts int           // attempts per call, the first included (5)
	BaseDelay   time.Duration // wait before the first retry, doubled per retry (200ms)
	MaxDelay    time.Duration // cap of one wait (10s)
	// Sleep waits for d or until ctx ends, returning ctx.Err() then.
	// Tests inject a fake; the default uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Notify, if set, is called before each retry, for logs and metrics.
	Notify func(op string, what any, attempt int, err error, wait time.Duration)
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 200 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

// Retryable reports whether err is worth another attempt: it wraps
// backend.ErrTransient and none of the errors that are final whatever the
// storage says (a missing object, a bad range or handle, a refusal, a
// cancelled context).
//
// context.DeadlineExceeded is final too, unless the backend called the
// error transient: net/http's own timeouts (waiting for response headers)
// match DeadlineExceeded, and a backend translates those, and only those,
// into ErrTransient. The caller's context is checked separately.
func Retryable(err error) bool {
	for _, final := range []error{
		backend.ErrNotFound, backend.ErrInvalidRange, backend.ErrInvalidHandle,
		backend.ErrPermission, backend.ErrLocked, context.Canceled,
	} {
		if errors.Is(err, final) {
			return false
		}
	}
	return errors.Is(err, backend.ErrTransient)
}

// do runs fn until it succeeds, fails for good, runs out of attempts or
// ctx ends. It returns fn's last error.
func (b *Backend) do(ctx context.Context, op string, what any, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !Retryable(err) || attempt >= b.opts.MaxAttempts || ctx.Err() != nil {
			return err
		}
		wait := b.backoff(attempt)
		if b.opts.Notify != nil {
			b.opts.Notify(op, what, attempt, err, wait)
		}
		if b.opts.Sleep(ctx, wait) != nil {
			return err // the last storage error says more than "canceled"
		}
	}
}

// backoff is the wait after the given failed attempt: BaseDelay doubled per
// attempt, capped at MaxDelay, of which a random half is taken off so that
// many clients failing together do not retry together.
func (b *Backend) backoff(attempt int) time.Duration {
	d := b.opts.MaxDelay
	if shift := attempt - 1; shift < 32 && b.opts.BaseDelay<<shift < d && b.opts.BaseDelay<<shift > 0 {
		d = b.opts.BaseDelay << shift
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
