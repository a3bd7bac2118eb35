package s3e2e

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/miniotest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/s3"
)

// triggerReader calls fn once after after bytes have been read through it.
type triggerReader struct {
	r     io.Reader
	after int64
	n     int64
	once  sync.Once
	fn    func()
}

func (t *triggerReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if t.n += int64(n); t.n >= t.after {
		t.once.Do(t.fn)
	}
	return n, err
}

// MinIO killed in the middle of an upload: the session fails with a
// storage code, there is no receipt, no snapshot and no manifest. After
// MinIO restarts the same backup succeeds and the repository checks clean.
func TestMinIOStoppedDuringUpload(t *testing.T) {
	srv := miniotest.Start(t)
	_, be := newS3(t, srv, srv.Endpoint)
	s := startServer(t, be, setup{Options: repo.Options{ParallelUploads: 4}})
	first := backup(t, s, "VM1", map[string][]byte{"d.raw": random(50, 3<<20)})
	ctx := context.Background()

	data := random(51, 24<<20)
	c := s.client()
	id, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "VM2", BackupType: "full", Consistency: "application"})
	if err != nil {
		t.Fatal(err)
	}
	body := &triggerReader{r: bytes.NewReader(data), after: 10 << 20, fn: srv.Stop}
	_, putErr := c.PutDisk(ctx, id, "d.raw", body, int64(len(data)), "")
	rc, err := c.Complete(ctx, id)
	switch {
	case putErr != nil && !storageFailure(putErr):
		t.Fatalf("upload with MinIO down: %v, want 503 STORAGE_ERROR or SESSION_FAILED", putErr)
	case putErr == nil && !storageFailure(err):
		t.Fatalf("complete with MinIO down: %v (receipt %+v), want 503 STORAGE_ERROR or SESSION_FAILED", err, rc)
	case err == nil:
		t.Fatalf("complete with MinIO down returned a receipt: %+v", rc)
	}
	_ = c.Abort(ctx, id)
	if list, err := s.Repo.Snapshots(repo.Filter{}); err != nil || len(list) != 1 {
		t.Fatalf("%d snapshots after the failed backup (%v), want 1", len(list), err)
	}

	srv.Restart()
	if n := objects(t, be, backend.TypeSnapshot); n != 1 {
		t.Fatalf("%d manifests in the bucket, want 1", n)
	}
	again := backup(t, s, "VM2", map[string][]byte{"d.raw": data})
	checkRestores(t, s, map[string]map[string][]byte{
		first.Snapshot: {"d.raw": random(50, 3<<20)},
		again.Snapshot: {"d.raw": data},
	})
	checkRepo(t, s)
}

// settledGoroutines waits until the goroutine count stops falling.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// checkNoLeak fails tb unless, within 20 seconds, no more goroutines run
// than base once idle connections are dropped.
func checkNoLeak(tb testing.TB, s *server, b *s3.Backend, base int) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.tr.CloseIdleConnections()
		s.HTTP.CloseClientConnections()
		b.Close()
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			var buf strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
			tb.Fatalf("%d goroutines, %d before the fault:\n%s", n, base, buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A stalled or refusing S3 server: the backup fails within the agent's
// timeout (stalled) or with a storage code (refusing), nothing becomes a
// snapshot, no goroutine is left behind once the storage is back, and the
// next backup succeeds.
func TestStorageStalledOrRefusing(t *testing.T) {
	for _, mode := range []string{"stalled", "refusing"} {
		t.Run(mode, func(t *testing.T) {
			px := startProxy(t, shared.Endpoint)
			s3be, be := newS3(t, shared, px.Addr())
			s := startServer(t, be, setup{Options: repo.Options{ParallelUploads: 2}})
			backup(t, s, "VM1", map[string][]byte{"d.raw": random(60, 2<<20)})
			paths := writeDisks(t, map[string][]byte{"d.raw": random(61, 20<<20)})
			s.HTTP.CloseClientConnections()
			s.tr.CloseIdleConnections()
			s3be.Close()
			base := settledGoroutines()

			const timeout = 3 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if mode == "stalled" {
				px.Stall()
			} else {
				px.Refuse()
				ctx = context.Background()
			}
			start := time.Now()
			_, err := backupFiles(ctx, s, "VM2", paths...)
			took := time.Since(start)
			switch {
			case err == nil:
				t.Fatal("backup succeeded against a dead S3")
			case mode == "stalled" && took > timeout+2*time.Second:
				t.Fatalf("backup against a stalled S3 failed after %v, timeout %v", took, timeout)
			case mode == "refusing" && !storageFailure(err):
				t.Fatalf("backup against a refusing S3: %v, want 503 STORAGE_ERROR or SESSION_FAILED", err)
			}
			t.Logf("%s: failed after %v: %v", mode, took.Round(time.Millisecond), err)
			if list, err := s.Repo.Snapshots(repo.Filter{}); err != nil || len(list) != 1 {
				t.Fatalf("%d snapshots after the failed backup (%v), want 1", len(list), err)
			}

			px.Heal()
			checkNoLeak(t, s, s3be, base)
			if n := objects(t, be, backend.TypeSnapshot); n != 1 {
				t.Fatalf("%d manifests in the bucket, want 1", n)
			}
			backup(t, s, "VM2", map[string][]byte{"d.raw": random(61, 20<<20)})
			checkRepo(t, s)
		})
	}
}
