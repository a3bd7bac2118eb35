package s3

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/miniotest"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/retry"
)

// failFast is how long a call may take against a stopped server.
const failFast = 3 * time.Second

// settledGoroutines waits until the number of goroutines stops falling
// (connections being torn down) and returns it.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// checkNoLeak fails t if more goroutines than base still run after b drops
// its idle connections and a few seconds for the rest to end.
func checkNoLeak(t *testing.T, b *Backend, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.Close()
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			var buf strings.Builder
			pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Fatalf("%d goroutines, %d before:\n%s", n, base, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result is the outcome of one operation.
type result struct {
	op  string
	err error
}

// each runs every operation of b on h, in the order put, stat, read, list,
// remove.
func each(ctx context.Context, b backend.Backend, h backend.Handle) []result {
	var rs []result
	add := func(op string, err error) { rs = append(rs, result{op, err}) }
	add("put", b.Put(ctx, h, bytes.NewReader([]byte("data")), 4))
	_, err := b.Stat(ctx, h)
	add("stat", err)
	_, err = b.ReadAt(ctx, h, make([]byte, 4), 0)
	add("read", err)
	add("list", b.List(ctx, h.Type, func(backend.ObjectInfo) error { return nil }))
	add("remove", b.Remove(ctx, h))
	return rs
}

// With the server down every call fails fast with ErrTransient and leaves
// no goroutine behind; after a restart the same backend works again and
// finds what was stored before.
func TestServerDown(t *testing.T) {
	srv := miniotest.Start(t)
	b := open(t, serverConfig(t, srv))
	ctx := context.Background()
	kept := backend.Handle{Type: backend.TypeSnapshot, Name: "kept"}
	if err := b.Put(ctx, kept, bytes.NewReader([]byte("before")), 6); err != nil {
		t.Fatal(err)
	}
	b.Close()
	base := settledGoroutines()

	srv.Stop()
	h := backend.Handle{Type: backend.TypePack, Name: "p"}
	for _, r := range each(ctx, b, h) {
		if !errors.Is(r.err, backend.ErrTransient) {
			t.Errorf("%s with the server down: %v, want ErrTransient", r.op, r.err)
		}
	}
	start := time.Now()
	each(ctx, b, h)
	if d := time.Since(start); d > 5*failFast {
		t.Errorf("five calls against a stopped server took %v", d)
	}
	checkNoLeak(t, b, base)

	srv.Restart()
	for _, r := range each(ctx, b, h) {
		if r.err != nil {
			t.Errorf("%s after restart: %v", r.op, r.err)
		}
	}
	got, err := backend.ReadAll(ctx, b, kept)
	if err != nil || string(got) != "before" {
		t.Fatalf("object stored before the stop: %q, %v", got, err)
	}
}

// Killing the server in the middle of a multipart upload fails the Put
// with ErrTransient, leaves no object, and the retry wrapper completes the
// upload once the server is back.
func TestStopMidUpload(t *testing.T) {
	srv := miniotest.Start(t)
	cfg := serverConfig(t, srv)
	cfg.PartSize = MinPartSize
	b := open(t, cfg)
	ctx := context.Background()
	h := backend.Handle{Type: backend.TypePack, Name: "big"}
	b.Close()
	base := settledGoroutines()

	var once sync.Once
	halfway := make(chan struct{})
	src := &pattern{seed: 3, size: 48 << 20, onRead: func(end int64) {
		if end > 12<<20 {
			once.Do(func() { close(halfway) })
		}
	}}
	done := make(chan error, 1)
	go func() { done <- b.Put(ctx, h, src, src.size) }()
	select {
	case <-halfway:
		srv.Stop()
	case err := <-done:
		t.Fatalf("put ended before the stop: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, backend.ErrTransient) {
			t.Fatalf("put interrupted by a stop: %v, want ErrTransient", err)
		}
	case <-time.After(failFast):
		t.Fatal("put still running after the server stopped")
	}
	checkNoLeak(t, b, base)

	srv.Restart()
	if _, err := b.Stat(ctx, h); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("interrupted upload left an object: %v", err)
	}

	// Down again: the retrying Put waits it out.
	srv.Stop()
	rb := retry.New(b, retry.Options{MaxAttempts: 50, BaseDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond})
	go func() { done <- rb.Put(ctx, h, src, src.size) }()
	time.Sleep(500 * time.Millisecond)
	srv.Restart()
	if err := <-done; err != nil {
		t.Fatalf("retrying put across a restart: %v", err)
	}
	if err := checkPattern(ctx, b, h, src); err != nil {
		t.Fatal(err)
	}
}

// silent accepts connections and never answers, like a wedged server.
func silent(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// Against a server that never answers, every call ends with its context,
// and without a deadline the response header timeout still ends it.
func TestSilentServer(t *testing.T) {
	cfg := Config{Endpoint: silent(t), Bucket: "bucket", AccessKey: "a", SecretKey: "b"}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Open(ctx, cfg); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("open: %v after %v, want DeadlineExceeded after 200ms", err, time.Since(start))
	}
	b, err := newBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := backend.Handle{Type: backend.TypePack, Name: "p"}
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	for _, r := range each(ctx, b, h) {
		if !errors.Is(r.err, context.DeadlineExceeded) || errors.Is(r.err, backend.ErrTransient) {
			t.Errorf("%s: %v, want DeadlineExceeded and not transient", r.op, r.err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("calls took %v with a 200ms deadline", d)
	}

	b.transport.ResponseHeaderTimeout = 200 * time.Millisecond
	start = time.Now()
	if _, err := b.Stat(context.Background(), h); !errors.Is(err, backend.ErrTransient) || time.Since(start) > 2*time.Second {
		t.Fatalf("stat without deadline: %v after %v, want ErrTransient from the header timeout", err, time.Since(start))
	}
}
