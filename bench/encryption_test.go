package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// halfCompressible is n bytes of which every other MiB is random and the
// rest text-like: zstd has work on both halves, as on a real disk.
func halfCompressible(seed uint64, n int64) []byte {
	d := make([]byte, n)
	if _, err := io.ReadFull(Incompressible(seed, n), d); err != nil {
		panic(err)
	}
	line := []byte("2026-12-02 06:50:32 INFO SQL Server checkpoint, log flushed to LSN 000123:0000456:0001\r\n")
	for off := int64(1 << 20); off < n; off += 2 << 20 {
		for p := off; p < min(off+1<<20, n); p += int64(len(line)) {
			copy(d[p:min(off+1<<20, n)], line)
			line[20] = byte('0' + p%10)
		}
	}
	return d
}

// BenchmarkEncryption measures the cost of encryption at rest: ingest of
// one disk over loopback HTTP into a local repository, then its raw
// restore, plain and encrypted (SHADOWVAULT_BENCH_MIB, default 512).
func BenchmarkEncryption(b *testing.B) {
	size := benchSize(512 << 20)
	for _, enc := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "encrypted"}[enc]
		b.Run(name, func(b *testing.B) {
			s := testserver.Start(b, testserver.Options{PackSize: 16 << 20, Encrypted: enc})
			c := s.Client("")
			ctx := context.Background()
			var ingestSecs, restoreSecs float64
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				// Fresh content each round, the same for both variants.
				b.StopTimer()
				data := halfCompressible(uint64(3+i), size)
				b.StartTimer()
				start := time.Now()
				id, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: fmt.Sprintf("VM%d", i), BackupType: "full", Consistency: "application"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.PutDisk(ctx, id, "disk.raw", bytes.NewReader(data), size, "raw"); err != nil {
					b.Fatal(err)
				}
				rc, err := c.Complete(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				ingestSecs += time.Since(start).Seconds()
				start = time.Now()
				n, err := c.Restore(ctx, rc.Snapshot, "disk.raw", "raw", io.Discard, nil)
				if err != nil || n != size {
					b.Fatalf("restore: %d bytes, %v", n, err)
				}
				restoreSecs += time.Since(start).Seconds()
			}
			mb := float64(size*int64(b.N)) / 1e6
			b.ReportMetric(mb/ingestSecs, "ingest-MB/s")
			b.ReportMetric(mb/restoreSecs, "restore-MB/s")
		})
	}
}
