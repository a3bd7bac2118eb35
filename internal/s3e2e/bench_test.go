package s3e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// benchSize is the disk the benchmarks back up and restore: incompressible,
// so every chunk is new and stored raw.
const benchSize = 512 << 20

// benchServer starts a server as `serve` would run it: 16 MiB packs, and 4
// parallel pack uploads for S3 (the default 2 for a local directory).
func benchServer(b *testing.B, kind string, restoreParallel int) *server {
	var be backend.Backend
	opts := repo.Options{RestoreParallel: restoreParallel}
	switch kind {
	case "minio":
		_, be = newS3(b, shared, shared.Endpoint)
		opts.ParallelUploads = 4
	case "local":
		be = newLocal(b)
	}
	return startServer(b, be, setup{PackSize: 16 << 20, Options: opts})
}

// fill overwrites p with incompressible bytes from seed.
func fill(p []byte, seed uint64) {
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'b', 'e', 'n', 'c', 'h'})
	_, _ = r.Read(p)
}

// ingestDisk backs up data as one raw disk over HTTP and returns the
// snapshot id.
func ingestDisk(b *testing.B, s *server, vm string, data []byte) string {
	ctx := context.Background()
	c := s.client()
	id, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: vm, BackupType: "full", Consistency: "application"})
	if err != nil {
		b.Fatal(err)
	}
	sum, err := c.PutDisk(ctx, id, "disk.raw", bytes.NewReader(data), int64(len(data)), "raw")
	if err != nil {
		b.Fatal(err)
	}
	if sum.NewBytes != int64(len(data)) {
		b.Fatalf("stored %d new bytes of %d: the data was not fresh", sum.NewBytes, len(data))
	}
	rc, err := c.Complete(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	return rc.Snapshot
}

func reportMBps(b *testing.B, bytes int64, took time.Duration) {
	b.ReportMetric(float64(bytes)/1e6/took.Seconds(), "MB/s")
}

// BenchmarkIngest backs up 512 MiB of new incompressible data over loopback
// HTTP into MinIO and into a local directory, in the same run.
func BenchmarkIngest(b *testing.B) {
	data := make([]byte, benchSize)
	for _, kind := range []string{"local", "minio"} {
		b.Run(kind, func(b *testing.B) {
			s := benchServer(b, kind, 0)
			var took time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				fill(data, uint64(1000*len(kind)+i))
				b.StartTimer()
				start := time.Now()
				ingestDisk(b, s, "VM1", data)
				took += time.Since(start)
			}
			reportMBps(b, int64(b.N)*benchSize, took)
		})
	}
}

// BenchmarkRestore restores 512 MiB of incompressible content over loopback
// HTTP, from MinIO and from a local directory, with 8 chunk reads in flight
// and with 1.
func BenchmarkRestore(b *testing.B) {
	data := make([]byte, benchSize)
	for _, kind := range []string{"minio", "local"} {
		b.Run(kind, func(b *testing.B) {
			s := benchServer(b, kind, 0)
			fill(data, uint64(7+len(kind)))
			snap := ingestDisk(b, s, "VM1", data)
			for _, p := range []int{8, 1} {
				b.Run(fmt.Sprintf("parallel-%d", p), func(b *testing.B) {
					s.stop()
					s.opts.RestoreParallel = p
					s.start()
					var took time.Duration
					b.ResetTimer()
					for range b.N {
						start := time.Now()
						n, err := s.client().Restore(context.Background(), snap, "disk.raw", "raw", io.Discard, nil)
						if err != nil || n != benchSize {
							b.Fatalf("restore: %d bytes, %v", n, err)
						}
						took += time.Since(start)
					}
					reportMBps(b, int64(b.N)*benchSize, took)
				})
			}
		})
	}
}
