package s3e2e

import (
	"bytes"
	"context"
	"io"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// getCounter counts the pack reads that reach a backend: on S3 each is one
// ranged GET (retries aside).
type getCounter struct {
	backend.Backend
	gets, bytes atomic.Int64
}

func (g *getCounter) ReadAt(ctx context.Context, h backend.Handle, p []byte, off int64) (int, error) {
	if h.Type == backend.TypePack {
		g.gets.Add(1)
		g.bytes.Add(int64(len(p)))
	}
	return g.Backend.ReadAt(ctx, h, p, off)
}

// mostlyData returns a disk of size bytes: regions of 1 to 9 MiB, one in 8
// zero, the others incompressible.
func mostlyData(size int) []byte {
	d := make([]byte, size)
	rng := mrand.New(mrand.NewPCG(uint64(size), 2))
	src := mrand.NewChaCha8([32]byte{'s', '3'})
	for off := 0; off < size; {
		n := min(size-off, 1<<20+rng.IntN(8<<20))
		if rng.IntN(8) != 0 {
			src.Read(d[off : off+n])
		}
		off += n
	}
	return d
}

// BenchmarkRestoreS3Speed backs up a disk of SHADOWVAULT_BENCH_S3_GIB GiB
// (default 2; mostly incompressible data, one region in 8 zero) into MinIO
// on 127.0.0.1 and into a local directory, as `serve` runs them (16 MiB
// packs, the retry wrapper on S3), then restores it as raw over loopback
// HTTP into a discarding writer from each, in turn. It reports MB/s of each, the
// pack GETs per GiB restored and the MB those GETs fetched per GiB, and
// S3's speed as a share of the local directory's (s3/local).
// SHADOWVAULT_BENCH_S3_TARGETS=minio (or local) restores from one alone;
// SHADOWVAULT_BENCH_RESTORE_PARALLEL sets the reads in flight (default:
// the repository's).
func BenchmarkRestoreS3Speed(b *testing.B) {
	gib := 2
	if v, err := strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_S3_GIB")); err == nil && v > 0 {
		gib = v
	}
	size := gib << 30
	data := mostlyData(size)
	type target struct {
		name string
		s    *server
		c    *getCounter
		snap string
		took time.Duration
	}
	var targets []*target
	kinds := []string{"minio", "local"}
	if v := os.Getenv("SHADOWVAULT_BENCH_S3_TARGETS"); v != "" {
		kinds = strings.Split(v, ",")
	}
	for _, kind := range kinds {
		var be backend.Backend
		var opts setup
		opts.PackSize = 16 << 20
		opts.Options.RestoreParallel, _ = strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_RESTORE_PARALLEL"))
		switch kind {
		case "minio":
			_, be = newS3(b, shared, shared.Endpoint)
			opts.Options.ParallelUploads = 4
		default:
			be = newLocal(b)
		}
		c := &getCounter{Backend: be}
		t := &target{name: kind, s: startServer(b, c, opts), c: c}
		t.snap = ingestRaw(b, t.s, data)
		t.c.gets.Store(0)
		t.c.bytes.Store(0)
		targets = append(targets, t)
	}
	data = nil
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		for _, t := range targets {
			start := time.Now()
			n, err := t.s.client().Restore(context.Background(), t.snap, "disk.raw", "raw", bigDiscard{}, nil)
			t.took += time.Since(start)
			if err != nil || n != int64(size) {
				b.Fatalf("%s: restore: %d bytes, %v", t.name, n, err)
			}
		}
	}
	b.StopTimer()
	restored := float64(b.N) * float64(size) / (1 << 30)
	mbps := map[string]float64{}
	for _, t := range targets {
		mbps[t.name] = float64(b.N) * float64(size) / 1e6 / t.took.Seconds()
		b.ReportMetric(mbps[t.name], t.name+"-MB/s")
		b.ReportMetric(float64(t.c.gets.Load())/restored, t.name+"-GETs/GiB")
		b.ReportMetric(float64(t.c.bytes.Load())/1e6/restored, t.name+"-MB-fetched/GiB")
	}
	if len(mbps) == 2 {
		b.ReportMetric(mbps["minio"]/mbps["local"], "s3/local")
	}
}

// bigDiscard discards what it reads in reads of 1 MiB, as the CLI's
// output does (io.Discard reads 8 KiB at a time).
type bigDiscard struct{}

func (bigDiscard) Write(p []byte) (int, error) { return len(p), nil }

func (bigDiscard) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// ingestRaw backs up data as disk.raw of a new snapshot over HTTP.
func ingestRaw(b *testing.B, s *server, data []byte) string {
	b.Helper()
	ctx := context.Background()
	c := s.client()
	id, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "VM1", BackupType: "full", Consistency: "application"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.PutDisk(ctx, id, "disk.raw", bytes.NewReader(data), int64(len(data)), "raw"); err != nil {
		b.Fatal(err)
	}
	rc, err := c.Complete(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	return rc.Snapshot
}
