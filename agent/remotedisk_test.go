package agent_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// backedUp starts a server and backs up one raw disk of data; it returns
// the server and the snapshot.
func backedUp(t *testing.T, name string, data []byte) (*testserver.Server, string) {
	t.Helper()
	s := testserver.Start(t, testserver.Options{})
	rc, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
		Host: "HV01", VM: "VM1", Type: "full", Consistency: "application",
		Disks: []string{disk(t, name, data)}, ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, rc.Snapshot
}

func TestRemoteDisk(t *testing.T) {
	data := seeded(50, 3<<20+4096)
	copy(data[1<<20:], make([]byte, 256<<10)) // a zero run
	s, snap := backedUp(t, "d.raw", data)
	ctx := context.Background()
	d, err := s.Client("").OpenRemoteDisk(ctx, snap, "d.raw")
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != int64(len(data)) {
		t.Fatalf("size %d, want %d", d.Size(), len(data))
	}
	size := int64(len(data))
	for _, c := range []struct {
		name    string
		off     int64
		n       int
		wantN   int
		wantEOF bool
	}{
		{"the start", 0, 4096, 4096, false},
		{"unaligned, across chunks and the zero run", 1<<20 - 333, 300 << 10, 300 << 10, false},
		{"the last byte", size - 1, 1, 1, false},
		{"across the end", size - 100, 4096, 100, true},
		{"at the end", size, 10, 0, true},
		{"nothing", 5, 0, 0, false},
	} {
		p := make([]byte, c.n)
		n, err := d.ReadAt(p, c.off)
		if n != c.wantN || (err == io.EOF) != c.wantEOF || (err != nil && err != io.EOF) {
			t.Fatalf("%s: read %d bytes, %v; want %d (EOF %v)", c.name, n, err, c.wantN, c.wantEOF)
		}
		if !bytes.Equal(p[:n], data[c.off:c.off+int64(n)]) {
			t.Fatalf("%s: wrong bytes", c.name)
		}
	}
	if _, err := d.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("read at a negative offset succeeded")
	}
	// The whole disk through a SectionReader, and reads from several
	// goroutines at once.
	all, err := io.ReadAll(io.NewSectionReader(d, 0, d.Size()))
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("the whole disk read back differs (%v)", err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 10 {
				off, n := r.Int64N(size), 1+r.IntN(128<<10)
				p := make([]byte, n)
				k, err := d.ReadAt(p, off)
				if (err != nil && err != io.EOF) || !bytes.Equal(p[:k], data[off:off+int64(k)]) {
					t.Errorf("read %d at %d: %d bytes, %v", n, off, k, err)
				}
			}
		})
	}
	wg.Wait()
}

func TestRemoteDiskErrors(t *testing.T) {
	s, snap := backedUp(t, "d.raw", seeded(51, 1<<20))
	ctx := context.Background()
	for name, open := range map[string]func() error{
		"unknown snapshot": func() error { _, err := s.Client("").OpenRemoteDisk(ctx, "nosuchsnapshot", "d.raw"); return err },
		"unknown disk":     func() error { _, err := s.Client("").OpenRemoteDisk(ctx, snap, "e.raw"); return err },
		"bad token":        func() error { _, err := s.Client("svt_bad_bad").OpenRemoteDisk(ctx, snap, "d.raw"); return err },
	} {
		var ae *agent.APIError
		err := open()
		if !errors.Is(err, agent.ErrRefused) || !errors.As(err, &ae) || ae.Code == "" || ae.Code == apiv1.Code(http.StatusText(ae.Status)) {
			t.Errorf("%s: %v, want a refusal with the server's code", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	// The disk's context is bound to its reads.
	cctx, cancel := context.WithCancel(ctx)
	d, err := s.Client("").OpenRemoteDisk(cctx, snap, "d.raw")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := d.ReadAt(make([]byte, 10), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after the context ended: %v", err)
	}
	if n, err := d.ReadAtContext(ctx, make([]byte, 10), 0); n != 10 || err != nil {
		t.Fatalf("ReadAtContext with a live context: %d, %v", n, err)
	}
}

// proxy forwards to the server through f, which may answer itself (and
// then returns true).
func proxy(t *testing.T, target string, f func(w http.ResponseWriter, r *http.Request) bool) string {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f(w, r) {
			p.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// noKeepAlive is a client on new connections only, so that the transport
// never retries a request on its own.
func noKeepAlive(server, token string) *agent.Client {
	return &agent.Client{Server: server, Token: token, HTTP: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

func TestRemoteDiskRetryAndAnswers(t *testing.T) {
	data := seeded(52, 1<<20)
	s, snap := backedUp(t, "d.raw", data)
	ctx := context.Background()

	// A range request that is cut is sent again, once.
	var cuts, limit atomic.Int32
	cutting := proxy(t, s.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Range") == "" || cuts.Load() >= limit.Load() {
			return false
		}
		cuts.Add(1)
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
		return true
	})
	d, err := noKeepAlive(cutting, s.AdminToken).OpenRemoteDisk(ctx, snap, "d.raw")
	if err != nil {
		t.Fatal(err)
	}
	limit.Store(1)
	p := make([]byte, 4096)
	if n, err := d.ReadAt(p, 8192); n != 4096 || err != nil || !bytes.Equal(p, data[8192:8192+4096]) || cuts.Load() != 1 {
		t.Fatalf("read after one cut: %d, %v (%d cuts)", n, err, cuts.Load())
	}
	cuts.Store(0)
	limit.Store(100)
	if _, err := d.ReadAt(p, 512<<10); !errors.Is(err, agent.ErrNetwork) || cuts.Load() != 2 {
		t.Fatalf("read with every request cut: %v after %d attempts, want ErrNetwork after 2", err, cuts.Load())
	}

	// A server that ignores the range (200 with the whole disk) is an
	// error, not a misread.
	ignoring := proxy(t, s.URL, func(w http.ResponseWriter, r *http.Request) bool {
		r.Header.Del("Range")
		return false
	})
	d, err = noKeepAlive(ignoring, s.AdminToken).OpenRemoteDisk(ctx, snap, "d.raw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadAt(p, 0); !errors.Is(err, agent.ErrServer) {
		t.Fatalf("a 200 answer to a range request: %v, want ErrServer", err)
	}
}

// TestRemoteDiskCache: small reads are served from cached blocks, one
// request per block however many read it at once; large reads go to the
// server.
func TestRemoteDiskCache(t *testing.T) {
	const block, blocks = 128 << 10, 32 // as in remotecache.go
	data := seeded(53, 16<<20)
	s, snap := backedUp(t, "d.raw", data)
	var ranges atomic.Int32
	counting := proxy(t, s.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Range") != "" {
			ranges.Add(1)
		}
		return false
	})
	d, err := (&agent.Client{Server: counting, Token: s.AdminToken}).OpenRemoteDisk(context.Background(), snap, "d.raw")
	if err != nil {
		t.Fatal(err)
	}
	requests := func(want int32, what string) {
		t.Helper()
		if n := ranges.Swap(0); n != want {
			t.Fatalf("%s: %d requests, want %d", what, n, want)
		}
	}
	check := func(off int64, n int) {
		t.Helper()
		p := make([]byte, n)
		if k, err := d.ReadAt(p, off); k != n || err != nil || !bytes.Equal(p, data[off:off+int64(n)]) {
			t.Fatalf("read %d at %d: %d, %v", n, off, k, err)
		}
	}
	for off := int64(0); off < block; off += 4096 {
		check(off, 4096)
	}
	requests(1, "reads of 4 KiB through one block")
	check(block-100, 200)
	requests(1, "a read across two blocks, the first cached")
	check(1<<20, block)
	check(1<<20, block)
	requests(2, "two reads of a block each")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { check(3<<20+5, 1000) })
	}
	wg.Wait()
	requests(1, "8 reads at once in one block")
	// The cache keeps 32 blocks: reading 40 others evicts the first ones.
	for i := int64(0); i < blocks+8; i++ {
		check(4<<20+i*block, 10)
	}
	requests(blocks+8, "reads in 40 blocks")
	check(0, 10)
	requests(1, "a read in a block evicted since")
}
