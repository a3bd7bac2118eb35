package backendtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Run runs the conformance suite. newBackend returns an empty backend each
// time it is called.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend.Backend)
	}{
		{"PutReadStat", testPutReadStat},
		{"Empty", testEmpty},
		{"Missing", testMissing},
		{"Range", testRange},
		{"Replace", testReplace},
		{"ListRemove", testListRemove},
		{"TypesSeparate", testTypesSeparate},
		{"InvalidHandle", testInvalidHandle},
		{"Concurrent", testConcurrent},
		{"Cancelled", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBackend(t)) })
	}
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := rand.Read(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func put(t *testing.T, b backend.Backend, h backend.Handle, data []byte) {
	t.Helper()
	if err := b.Put(context.Background(), h, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("put %s: %v", h, err)
	}
}

func testPutReadStat(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	data := random(t, 3<<20+17)
	h := backend.Handle{Type: backend.TypePack, Name: "abc123"}
	put(t, b, h, data)
	fi, err := b.Stat(ctx, h)
	if err != nil || fi.Size != int64(len(data)) || fi.Handle != h {
		t.Fatalf("stat = %+v, %v; want size %d", fi, err, len(data))
	}
	got, err := backend.ReadAll(ctx, b, h)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read all: %v, equal=%v", err, bytes.Equal(got, data))
	}
	p := make([]byte, 1000)
	n, err := b.ReadAt(ctx, h, p, 1<<20+5)
	if err != nil || n != len(p) || !bytes.Equal(p, data[1<<20+5:1<<20+1005]) {
		t.Fatalf("read at: n=%d err=%v", n, err)
	}
}

func testEmpty(t *testing.T, b backend.Backend) {
	h := backend.Handle{Type: backend.TypeSnapshot, Name: "empty"}
	put(t, b, h, nil)
	fi, err := b.Stat(context.Background(), h)
	if err != nil || fi.Size != 0 {
		t.Fatalf("stat empty = %+v, %v", fi, err)
	}
}

func testMissing(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.TypePack, Name: "missing"}
	if _, err := b.Stat(ctx, h); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("stat missing: %v, want ErrNotFound", err)
	}
	if _, err := b.ReadAt(ctx, h, make([]byte, 4), 0); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("read missing: %v, want ErrNotFound", err)
	}
	if err := b.Remove(ctx, h); err != nil {
		t.Fatalf("remove missing: %v, want nil", err)
	}
}

func testRange(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.TypePack, Name: "range"}
	put(t, b, h, random(t, 100))
	for _, c := range []struct{ off, n int }{{90, 20}, {100, 1}, {200, 1}} {
		if _, err := b.ReadAt(ctx, h, make([]byte, c.n), int64(c.off)); !errors.Is(err, backend.ErrInvalidRange) {
			t.Errorf("read %d bytes at %d of 100: %v, want ErrInvalidRange", c.n, c.off, err)
		}
	}
	if _, err := b.ReadAt(ctx, h, make([]byte, 1), -1); !errors.Is(err, backend.ErrInvalidRange) {
		t.Errorf("read at -1: %v, want ErrInvalidRange", err)
	}
}

func testReplace(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.TypeConfig, Name: "config"}
	put(t, b, h, []byte("first version"))
	put(t, b, h, []byte("second"))
	got, err := backend.ReadAll(ctx, b, h)
	if err != nil || string(got) != "second" {
		t.Fatalf("after replace: %q, %v", got, err)
	}
}

func list(t *testing.T, b backend.Backend, typ backend.Type) []string {
	t.Helper()
	var names []string
	err := b.List(context.Background(), typ, func(fi backend.ObjectInfo) error {
		if fi.Handle.Type != typ {
			t.Errorf("list %s returned %s", typ, fi.Handle)
		}
		names = append(names, fmt.Sprintf("%s:%d", fi.Handle.Name, fi.Size))
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", typ, err)
	}
	sort.Strings(names)
	return names
}

func testListRemove(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	var want []string
	for i := 0; i < 25; i++ {
		name := fmt.Sprintf("obj%02d", i)
		put(t, b, backend.Handle{Type: backend.TypePack, Name: name}, make([]byte, i))
		want = append(want, fmt.Sprintf("%s:%d", name, i))
	}
	if got := list(t, b, backend.TypePack); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("list = %v, want %v", got, want)
	}
	for i := 0; i < 25; i += 2 {
		if err := b.Remove(ctx, backend.Handle{Type: backend.TypePack, Name: fmt.Sprintf("obj%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := list(t, b, backend.TypePack); len(got) != 12 {
		t.Fatalf("after removing 13 of 25: %d left (%v)", len(got), got)
	}
	stop := errors.New("stop")
	calls := 0
	err := b.List(ctx, backend.TypePack, func(backend.ObjectInfo) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("list stopped by callback: err=%v calls=%d", err, calls)
	}
}

func testTypesSeparate(t *testing.T, b backend.Backend) {
	put(t, b, backend.Handle{Type: backend.TypePack, Name: "same"}, []byte("pack"))
	put(t, b, backend.Handle{Type: backend.TypeSnapshot, Name: "same"}, []byte("snapshot"))
	got, err := backend.ReadAll(context.Background(), b, backend.Handle{Type: backend.TypeSnapshot, Name: "same"})
	if err != nil || string(got) != "snapshot" {
		t.Fatalf("read snapshot/same = %q, %v", got, err)
	}
	if l := list(t, b, backend.TypeDiskMap); len(l) != 0 {
		t.Fatalf("diskmaps listed %v, want none", l)
	}
}

func testInvalidHandle(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	for _, h := range []backend.Handle{
		{Type: backend.TypePack, Name: "../escape"},
		{Type: backend.TypePack, Name: ""},
		{Type: "bogus", Name: "x"},
	} {
		err := b.Put(ctx, h, bytes.NewReader([]byte("x")), 1)
		if !errors.Is(err, backend.ErrInvalidHandle) {
			t.Errorf("put %q: %v, want ErrInvalidHandle", h, err)
		}
	}
}

func testConcurrent(t *testing.T, b backend.Backend) {
	var wg sync.WaitGroup
	data := random(t, 64<<10)
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h := backend.Handle{Type: backend.TypePack, Name: fmt.Sprintf("c%d", i%4)}
			if err := b.Put(context.Background(), h, bytes.NewReader(data), int64(len(data))); err != nil {
				errs <- err
				return
			}
			got, err := backend.ReadAll(context.Background(), b, h)
			if err != nil || !bytes.Equal(got, data) {
				errs <- fmt.Errorf("read %s: %v equal=%v", h, err, bytes.Equal(got, data))
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testCancelled(t *testing.T, b backend.Backend) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := backend.Handle{Type: backend.TypePack, Name: "cancelled"}
	if err := b.Put(ctx, h, bytes.NewReader([]byte("data")), 4); err == nil {
		t.Fatal("put with a cancelled context succeeded")
	}
	if _, err := b.Stat(context.Background(), h); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("cancelled put left an object: %v", err)
	}
}
