package faulty_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/backendtest"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

var h = backend.Handle{Type: backend.TypePack, Name: "p1"}

func put(b backend.Backend, h backend.Handle, data string) error {
	return b.Put(context.Background(), h, bytes.NewReader([]byte(data)), int64(len(data)))
}

// Without faults the wrapper is a transparent backend.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return faulty.New(mem.New()) })
}

func TestFailPut(t *testing.T) {
	f := faulty.New(mem.New())
	f.FailPut(2, backend.ErrTransient)
	f.FailPutsFrom(4, backend.ErrPermission)
	want := []error{nil, backend.ErrTransient, nil, backend.ErrPermission, backend.ErrPermission}
	for i, w := range want {
		err := put(f, h, "data")
		if !errors.Is(err, w) || (w == nil) != (err == nil) {
			t.Errorf("put %d: %v, want %v", i+1, err, w)
		}
	}
	if n := f.Calls(faulty.OpPut); n != 5 {
		t.Errorf("Calls(put) = %d, want 5", n)
	}
	f.Heal()
	if err := put(f, h, "data"); err != nil {
		t.Errorf("put after Heal: %v", err)
	}
}

// A fault with After stores the object and still reports failure.
func TestFailAfter(t *testing.T) {
	inner := mem.New()
	f := faulty.New(inner)
	f.Inject(faulty.OpPut, faulty.Fault{From: 1, Count: 1, Err: backend.ErrTransient, After: true})
	if err := put(f, h, "stored"); !errors.Is(err, backend.ErrTransient) {
		t.Fatalf("put: %v, want ErrTransient", err)
	}
	if got, err := backend.ReadAll(context.Background(), inner, h); err != nil || string(got) != "stored" {
		t.Fatalf("inner has %q, %v; want the object stored", got, err)
	}
}

func TestReadFaults(t *testing.T) {
	ctx := context.Background()
	f := faulty.New(mem.New())
	if err := put(f, h, "0123456789"); err != nil {
		t.Fatal(err)
	}
	f.FailReadAt(1, 1, backend.ErrTransient)
	f.ShortReads(2, 1, nil)
	p := make([]byte, 8)
	if _, err := f.ReadAt(ctx, h, p, 0); !errors.Is(err, backend.ErrTransient) {
		t.Errorf("read 1: %v, want ErrTransient", err)
	}
	if n, err := f.ReadAt(ctx, h, p, 0); n != 4 || err != nil || string(p[:n]) != "0123" {
		t.Errorf("read 2 (short): n=%d %q err=%v, want 4 bytes and no error", n, p[:n], err)
	}
	if n, err := f.ReadAt(ctx, h, p, 2); n != 8 || err != nil || string(p) != "23456789" {
		t.Errorf("read 3: n=%d %q err=%v", n, p, err)
	}
	if n := f.Calls(faulty.OpReadAt); n != 3 {
		t.Errorf("Calls(readat) = %d, want 3", n)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	f := faulty.New(mem.New())
	f.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := f.Stat(ctx, h); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stat with latency: %v, want DeadlineExceeded", err)
	}
	f.SetLatency(time.Millisecond)
	start := time.Now()
	if _, err := f.Stat(context.Background(), h); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("stat: %v", err)
	}
	if time.Since(start) < time.Millisecond {
		t.Fatal("no latency added")
	}
}

func TestBlock(t *testing.T) {
	f := faulty.New(mem.New())
	release := f.Block(faulty.OpPut)
	done := make(chan error)
	go func() { done <- put(f, h, "x") }()
	for f.Calls(faulty.OpPut) == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("blocked put returned %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	release()
	release()
	if err := <-done; err != nil {
		t.Fatalf("released put: %v", err)
	}
	if err := put(f, h, "y"); err != nil {
		t.Fatalf("put after release: %v", err)
	}
	// Other operations were never blocked; a cancelled call stops waiting.
	f.Block(faulty.OpRemove)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Remove(ctx, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked remove with cancelled ctx: %v", err)
	}
}

func TestOpString(t *testing.T) {
	if s := faulty.OpReadAt.String(); s != "readat" {
		t.Errorf("OpReadAt = %q", s)
	}
}
