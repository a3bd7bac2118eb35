package replicate

import (
	"context"
	"sync"
	"time"
)

// Limiter paces reads to a rate in bytes per second, shared by every
// transfer of a sync (a token bucket holding at most one second).
type Limiter struct {
	rate float64

	mu     sync.Mutex
	tokens float64   // guarded by mu; negative: owed
	last   time.Time // guarded by mu
}

// NewLimiter returns a limiter of rate bytes per second; nil for rate <= 0
// (no limit; a nil *Limiter waits for nothing).
func NewLimiter(rate int64) *Limiter {
	if rate <= 0 {
		return nil
	}
	return &Limiter{rate: float64(rate), tokens: float64(rate), last: time.Now()}
}

// Wait takes n bytes, sleeping until the rate allows them.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	if l == nil || n <= 0 {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	l.tokens = min(l.rate, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	l.tokens -= float64(n)
	wait := time.Duration(0)
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if wait == 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
