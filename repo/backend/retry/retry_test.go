package retry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/backendtest"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
	"github.com/shadowvault/shadowvault/repo/backend/retry"
)

var h = backend.Handle{Type: backend.TypePack, Name: "p1"}

// sleeps records the waits instead of waiting.
type sleeps struct{ waits []time.Duration }

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func newRetry(t *testing.T, attempts int) (*retry.Backend, *faulty.Backend, *mem.Backend, *sleeps) {
	t.Helper()
	inner := mem.New()
	f := faulty.New(inner)
	s := &sleeps{}
	r := retry.New(f, retry.Options{MaxAttempts: attempts, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Sleep: s.sleep})
	return r, f, inner, s
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return retry.New(mem.New(), retry.Options{}) })
}

// A transient failure is retried; the retry sends the whole body again.
func TestPutRetriesTransient(t *testing.T) {
	r, f, inner, s := newRetry(t, 5)
	f.FailPut(1, fmt.Errorf("boom: %w", backend.ErrTransient))
	// The second attempt stores the object, then fails: the third must
	// rewrite it from the start of the reader, not from where it stopped.
	f.Inject(faulty.OpPut, faulty.Fault{From: 2, Count: 1, Err: backend.ErrTransient, After: true})
	data := []byte("the whole body")
	rd := bytes.NewReader(data)
	if err := r.Put(context.Background(), h, rd, int64(len(data))); err != nil {
		t.Fatalf("put: %v", err)
	}
	if n := f.Calls(faulty.OpPut); n != 3 {
		t.Fatalf("inner Put called %d times, want 3", n)
	}
	got, err := backend.ReadAll(context.Background(), inner, h)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored %q, %v", got, err)
	}
	if len(s.waits) != 2 {
		t.Fatalf("slept %d times, want 2", len(s.waits))
	}
}

// Put rewinds to where the reader was when Put was called, not to 0.
type readSeeker struct {
	*bytes.Reader
	seeks []int64
}

func (r *readSeeker) Seek(off int64, whence int) (int64, error) {
	n, err := r.Reader.Seek(off, whence)
	r.seeks = append(r.seeks, n)
	return n, err
}

func TestPutRewindsToStart(t *testing.T) {
	r, f, inner, _ := newRetry(t, 3)
	f.FailPut(1, backend.ErrTransient)
	rd := &readSeeker{Reader: bytes.NewReader([]byte("skip:payload"))}
	if _, err := rd.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if err := r.Put(context.Background(), h, rd, 7); err != nil {
		t.Fatalf("put: %v", err)
	}
	got, _ := backend.ReadAll(context.Background(), inner, h)
	// mem seeks to 0 itself, so only our own seek is checked here.
	if len(rd.seeks) < 2 || rd.seeks[1] != 5 {
		t.Fatalf("seeks %v, want a rewind to 5 before the retry (stored %q)", rd.seeks, got)
	}
}

// Final errors are returned after one attempt, even when they also say
// transient.
func TestNeverRetried(t *testing.T) {
	ctx := context.Background()
	for _, final := range []error{
		backend.ErrNotFound, backend.ErrInvalidRange, backend.ErrInvalidHandle,
		backend.ErrPermission, context.Canceled, context.DeadlineExceeded,
		errors.New("plain error"),
		fmt.Errorf("%w: %w", backend.ErrTransient, backend.ErrPermission),
	} {
		t.Run(final.Error(), func(t *testing.T) {
			r, f, _, s := newRetry(t, 5)
			f.FailPutsFrom(1, final)
			f.FailReadAt(1, 0, final)
			if err := r.Put(ctx, h, bytes.NewReader(nil), 0); !errors.Is(err, final) {
				t.Fatalf("put: %v, want %v", err, final)
			}
			if _, err := r.ReadAt(ctx, h, make([]byte, 1), 0); !errors.Is(err, final) {
				t.Fatalf("read: %v, want %v", err, final)
			}
			if f.Calls(faulty.OpPut) != 1 || f.Calls(faulty.OpReadAt) != 1 || len(s.waits) != 0 {
				t.Fatalf("put calls %d, read calls %d, sleeps %d; want 1, 1, 0",
					f.Calls(faulty.OpPut), f.Calls(faulty.OpReadAt), len(s.waits))
			}
		})
	}
}

// A transport timeout that the backend calls transient is retried although
// it matches context.DeadlineExceeded; the caller's deadline is not.
func TestTransportTimeoutRetried(t *testing.T) {
	timeout := fmt.Errorf("stat p: %w: %w", backend.ErrTransient, context.DeadlineExceeded)
	r, f, _, s := newRetry(t, 3)
	f.Inject(faulty.OpStat, faulty.Fault{From: 1, Count: 1, Err: timeout})
	if _, err := r.Stat(context.Background(), h); !errors.Is(err, backend.ErrNotFound) || len(s.waits) != 1 {
		t.Fatalf("stat: %v after %d retries, want ErrNotFound after 1", err, len(s.waits))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	f.Inject(faulty.OpStat, faulty.Fault{From: 2, Err: timeout})
	if _, err := r.Stat(ctx, h); !errors.Is(err, backend.ErrTransient) || len(s.waits) != 1 {
		t.Fatalf("stat with an expired ctx: %v after %d retries, want no retry", err, len(s.waits)-1)
	}
}

// Attempts are bounded; the waits grow exponentially within MaxDelay,
// each between half and all of its nominal value.
func TestBackoffAndMaxAttempts(t *testing.T) {
	r, f, _, s := newRetry(t, 6)
	f.FailPutsFrom(1, backend.ErrTransient)
	err := r.Put(context.Background(), h, bytes.NewReader([]byte("x")), 1)
	if !errors.Is(err, backend.ErrTransient) || f.Calls(faulty.OpPut) != 6 {
		t.Fatalf("put: %v after %d calls, want ErrTransient after 6", err, f.Calls(faulty.OpPut))
	}
	nominal := []time.Duration{100, 200, 400, 800, 1000}
	if len(s.waits) != len(nominal) {
		t.Fatalf("waits %v, want %d", s.waits, len(nominal))
	}
	for i, w := range s.waits {
		n := nominal[i] * time.Millisecond
		if w < n/2 || w > n {
			t.Errorf("wait %d = %v, want in [%v, %v]", i, w, n/2, n)
		}
	}
}

// A context that ends while waiting stops the retries.
func TestContextStopsRetries(t *testing.T) {
	inner := faulty.New(mem.New())
	inner.FailPutsFrom(1, backend.ErrTransient)
	ctx, cancel := context.WithCancel(context.Background())
	r := retry.New(inner, retry.Options{MaxAttempts: 100, Sleep: func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}})
	err := r.Put(ctx, h, bytes.NewReader(nil), 0)
	if !errors.Is(err, backend.ErrTransient) || inner.Calls(faulty.OpPut) != 1 {
		t.Fatalf("put: %v after %d calls, want the transient error after 1", err, inner.Calls(faulty.OpPut))
	}
}

func TestReadStatRemoveRetry(t *testing.T) {
	ctx := context.Background()
	r, f, _, _ := newRetry(t, 3)
	if err := r.Put(ctx, h, bytes.NewReader([]byte("abcdef")), 6); err != nil {
		t.Fatal(err)
	}
	f.FailReadAt(1, 2, backend.ErrTransient)
	p := make([]byte, 3)
	if n, err := r.ReadAt(ctx, h, p, 2); err != nil || n != 3 || string(p) != "cde" {
		t.Fatalf("read: n=%d %q %v", n, p, err)
	}
	f.Inject(faulty.OpStat, faulty.Fault{From: 1, Count: 1, Err: backend.ErrTransient})
	if fi, err := r.Stat(ctx, h); err != nil || fi.Size != 6 {
		t.Fatalf("stat: %+v %v", fi, err)
	}
	f.Inject(faulty.OpRemove, faulty.Fault{From: 1, Count: 1, Err: backend.ErrTransient})
	if err := r.Remove(ctx, h); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := r.Stat(ctx, h); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("stat after remove: %v", err)
	}
}

// A listing that fails after delivering everything is retried without
// delivering anything twice; an error from fn is returned at once.
func TestListRetry(t *testing.T) {
	ctx := context.Background()
	r, f, _, _ := newRetry(t, 3)
	for i := range 5 {
		hi := backend.Handle{Type: backend.TypePack, Name: fmt.Sprint("p", i)}
		if err := r.Put(ctx, hi, bytes.NewReader(nil), 0); err != nil {
			t.Fatal(err)
		}
	}
	f.Inject(faulty.OpList, faulty.Fault{From: 1, Count: 1, Err: backend.ErrTransient, After: true})
	seen := map[string]int{}
	err := r.List(ctx, backend.TypePack, func(fi backend.ObjectInfo) error { seen[fi.Handle.Name]++; return nil })
	if err != nil || len(seen) != 5 || f.Calls(faulty.OpList) != 2 {
		t.Fatalf("list: %v, seen %v after %d calls", err, seen, f.Calls(faulty.OpList))
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", name, n)
		}
	}
	stop := fmt.Errorf("callback: %w", backend.ErrTransient)
	err = r.List(ctx, backend.TypePack, func(backend.ObjectInfo) error { return stop })
	if !errors.Is(err, stop) || f.Calls(faulty.OpList) != 3 {
		t.Fatalf("list stopped by fn: %v after %d calls, want fn's error after 3", err, f.Calls(faulty.OpList))
	}
}
