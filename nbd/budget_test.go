package nbd

import (
	"context"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	b := newBudget(100)
	ctx := context.Background()
	if err := b.acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	// 50 does not fit; a later 10 that would fit waits behind it.
	big, small := make(chan error, 1), make(chan error, 1)
	go func() { big <- b.acquire(ctx, 50) }()
	time.Sleep(20 * time.Millisecond)
	go func() { small <- b.acquire(ctx, 10) }()
	select {
	case err := <-big:
		t.Fatalf("50 bytes granted while 60 of 100 are held: %v", err)
	case err := <-small:
		t.Fatalf("10 bytes overtook a waiting 50: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	b.release(60)
	if err := <-big; err != nil {
		t.Fatal(err)
	}
	if err := <-small; err != nil {
		t.Fatal(err)
	}
	// A waiter whose context ends gives up and leaves the queue.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.acquire(cctx, 80); err == nil {
		t.Fatal("80 bytes granted while 60 of 100 are held")
	}
	b.release(60)
	if err := b.acquire(ctx, 100); err != nil || b.used != 100 || len(b.waiters) != 0 {
		t.Fatalf("after a cancelled wait: %v, used %d, %d waiting", err, b.used, len(b.waiters))
	}
}

func TestBufClass(t *testing.T) {
	if 1<<maxBufShift != MaxBlockSize {
		t.Fatalf("maxBufShift %d does not match MaxBlockSize %d", maxBufShift, MaxBlockSize)
	}
	for _, c := range []struct{ n, idx, size int }{
		{1, 0, 4096}, {4096, 0, 4096}, {4097, 1, 8192}, {1 << 20, 8, 1 << 20}, {MaxBlockSize, len(bufPools) - 1, MaxBlockSize},
	} {
		if i, s := bufClass(c.n); i != c.idx || s != c.size {
			t.Errorf("bufClass(%d) = %d, %d; want %d, %d", c.n, i, s, c.idx, c.size)
		}
	}
	b := getBuf(5000)
	if len(b) != 5000 || cap(b) != 8192 {
		t.Fatalf("getBuf(5000): len %d cap %d", len(b), cap(b))
	}
	putBuf(b)
}
