//go:build linux

package bench

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend/local"
)

// benchPruneInProcess runs BenchmarkPruneLarge's forget and prune in the
// test process, so that -cpuprofile and -memprofile see the prune, and
// reports the Go heap's peak during the prune (runtime.MemStats sampled
// every 5 ms; HeapInuse, what the heap holds in spans in use) and the
// test process's peak RSS over the prune (VmHWM reset before it).
func benchPruneInProcess(b *testing.B, src string, built pruneRepoBuilt) {
	ctx := context.Background()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		if err := clonePruneRepo(src, dir); err != nil {
			b.Fatal(err)
		}
		var logs strings.Builder
		r, idx, err := openPruneRepo(ctx, dir, &logs)
		if err != nil {
			b.Fatal(err)
		}
		fr, err := r.Forget(ctx, repo.ForgetRequest{Policy: &repo.Policy{KeepLast: built.Spec.Days / 2}})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		pid := os.Getpid()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatalf("reset the peak RSS: %v", err)
		}
		heap := sampleHeap()
		sample := sampleProcMem(pid)
		load := loadAvg()
		stopProfile := profileStep(b)
		b.StartTimer()
		start := time.Now()
		res, err := r.Prune(ctx, repo.PruneOptions{Grace: time.Nanosecond})
		took := time.Since(start)
		b.StopTimer()
		stopProfile()
		peakHeap, baseHeap := heap()
		sampled := sample()
		peak, _ := readProcMem(pid)
		r.Close(ctx)
		idx.Close()
		if err != nil {
			b.Fatal(err)
		}
		reportPrune(b, built, apiv1.PruneResult(res), took)
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peak.hwm)/1024, "peak-RSS-MiB")
		b.Logf("forgot %d snapshots; prune %.1fs: %+v", len(fr.Remove), took.Seconds(), res)
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "prune done") {
				b.Log(line)
			}
		}
		b.Logf("heap in use before the prune %d MiB, peak %d MiB; test process RSS peak %d MiB (anon %d, file %d sampled); load %s",
			baseHeap>>20, peakHeap>>20, peak.hwm>>10, sampled.anon>>10, sampled.file>>10, load)
	}
}

// openPruneRepo opens a cloned prune repository in process, logging to log.
func openPruneRepo(ctx context.Context, dir string, log io.Writer) (*repo.Repository, *index.Index, error) {
	be, err := local.Open(filepath.Join(dir, "repo"))
	if err != nil {
		return nil, nil, err
	}
	seed, err := os.ReadFile(filepath.Join(dir, "state", "receipt.key"))
	if err != nil {
		return nil, nil, err
	}
	idx, err := index.Open(filepath.Join(dir, "state", "index.db"))
	if err != nil {
		return nil, nil, err
	}
	r, err := repo.Open(ctx, be, idx, repo.Options{ReceiptKey: ed25519.NewKeyFromSeed(seed), Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		idx.Close()
		return nil, nil, err
	}
	return r, idx, nil
}

// sampleHeap samples the Go heap in use every 5 ms until the returned
// function is called, which returns the peak and the first sample.
func sampleHeap() func() (peak, first uint64) {
	stop, done := make(chan struct{}), make(chan [2]uint64)
	go func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		first, peak := ms.HeapInuse, ms.HeapInuse
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				runtime.ReadMemStats(&ms)
				done <- [2]uint64{max(peak, ms.HeapInuse), first}
				return
			case <-t.C:
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		v := <-done
		return v[0], v[1]
	}
}
