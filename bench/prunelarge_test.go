//go:build linux

package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

// pruneChunks is the size of BenchmarkPruneLarge's repository:
// SHADOWVAULT_BENCH_PRUNE_CHUNKS (default 100000; the target case is
// 1000000, built once into the cache in about 4 minutes).
func pruneChunks() int {
	if v, err := strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_PRUNE_CHUNKS")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

// BenchmarkPruneLarge prunes a repository of many small chunks (see
// pruneRepoSpec; cached under the bench cache directory) after half of
// each VM's daily snapshots were forgotten (keep-last Days/2), with the
// default repack threshold (0.7) and a grace of 1 ns. "server" runs the
// prune in the real binary (`shadowvault serve` on a copy of the
// repository, forget and prune over HTTP) and reports the server's peak
// RSS during the prune: its VmHWM, reset (/proc/PID/clear_refs) just
// before the prune request. A check follows, which must find the
// repository sound. "inproc" runs the same prune in the test process for
// profiles (-cpuprofile, or SHADOWVAULT_BENCH_CPUPROFILE=PREFIX for the
// prune alone) and reports the Go heap's peak during the prune.
func BenchmarkPruneLarge(b *testing.B) {
	spec := newPruneRepoSpec(pruneChunks())
	src, built, err := pruneRepo(context.Background(), spec, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("server", func(b *testing.B) { benchPruneServer(b, src, built) })
	b.Run("inproc", func(b *testing.B) { benchPruneInProcess(b, src, built) })
}

func benchPruneServer(b *testing.B, src string, built pruneRepoBuilt) {
	b.StopTimer()
	bin := filepath.Join(b.TempDir(), "shadowvault")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/shadowvault").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		if err := clonePruneRepo(src, dir); err != nil {
			b.Fatal(err)
		}
		v := &svServer{bin: bin, dir: dir}
		if err := v.start(); err != nil {
			b.Fatal(err)
		}
		tok, err := os.ReadFile(v.tokFile())
		if err != nil {
			v.stop()
			b.Fatal(err)
		}
		c := &agent.Client{Server: v.url, Token: strings.TrimSpace(string(tok)), HTTP: &http.Client{}}
		var fr apiv1.ForgetResult
		if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/forget", apiv1.ForgetRequest{Policy: &apiv1.Policy{KeepLast: built.Spec.Days / 2}}, &fr); err != nil {
			v.stop()
			b.Fatal(err)
		}
		pid := v.cmd.Process.Pid
		started, _ := readProcMem(pid) // its peak from the start through the forget
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			v.stop()
			b.Fatalf("reset the peak RSS: %v", err)
		}
		base, _ := readProcMem(pid)
		sample := sampleProcMem(pid)
		load := loadAvg()
		var res apiv1.PruneResult
		b.StartTimer()
		start := time.Now()
		err = c.DoJSON(ctx, http.MethodPost, "/api/v1/prune", apiv1.PruneRequest{Grace: "1ns"}, &res)
		took := time.Since(start)
		b.StopTimer()
		sampled := sample()
		peak, perr := readProcMem(pid)
		if err == nil {
			err = perr
		}
		var chk apiv1.CheckResponse
		checkStart := time.Now()
		if err == nil {
			err = c.DoJSON(ctx, http.MethodPost, "/api/v1/check", apiv1.CheckRequest{}, &chk)
		}
		checkTook := time.Since(checkStart)
		v.stop()
		if err != nil {
			b.Fatal(err)
		}
		if !chk.OK {
			b.Fatalf("check after the prune: %v", chk.Problems)
		}
		reportPrune(b, built, res, took)
		b.ReportMetric(float64(peak.hwm)/1024, "peak-RSS-MiB")
		b.ReportMetric(float64(sampled.anon)/1024, "peak-anon-MiB")
		b.Logf("forgot %d of %d snapshots; prune %.1fs: %+v", len(fr.Remove), built.Snapshots, took.Seconds(), res)
		b.Logf("server peak RSS through its start and the forget %d MiB; RSS before the prune %d MiB, peak during it %d MiB (VmHWM); "+
			"sampled every 20 ms: anon %d MiB, file %d MiB; check %.1fs (%d snapshots, %d chunks); load %s",
			started.hwm>>10, base.rss>>10, peak.hwm>>10, sampled.anon>>10, sampled.file>>10, checkTook.Seconds(), chk.Snapshots, chk.Chunks, load)
	}
}

// reportPrune reports what a prune did, and the repository.
func reportPrune(b *testing.B, built pruneRepoBuilt, res apiv1.PruneResult, took time.Duration) {
	b.Logf("repository: %d chunks, %d packs (%.0f MiB), %d snapshots of %d VMs, disks of %d MiB (built in %.0fs)",
		built.Chunks, built.Packs, float64(built.PackBytes)/(1<<20), built.Snapshots, built.Spec.VMs, built.DiskBytes>>20, built.Seconds)
	b.ReportMetric(took.Seconds(), "prune-s")
	b.ReportMetric(float64(res.PacksDeleted), "packs-deleted")
	b.ReportMetric(float64(res.PacksRewritten), "packs-rewritten")
	b.ReportMetric(float64(res.ChunksRemoved), "chunks-removed")
	b.ReportMetric(float64(res.BytesFreed)/(1<<20), "freed-MiB")
}

// procMem is a process's memory figures from /proc/PID/status, in KiB.
type procMem struct{ rss, hwm, anon, file int64 }

func readProcMem(pid int) (procMem, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMem{}, err
	}
	var m procMem
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = v
		case "VmHWM:":
			m.hwm = v
		case "RssAnon:":
			m.anon = v
		case "RssFile:":
			m.file = v
		}
	}
	return m, nil
}

// sampleProcMem samples a process's memory every 20 ms until the
// returned function is called, which returns the largest of each figure.
func sampleProcMem(pid int) func() procMem {
	stop, done := make(chan struct{}), make(chan procMem)
	go func() {
		var peak procMem
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readProcMem(pid); err == nil {
				peak = procMem{max(peak.rss, m.rss), max(peak.hwm, m.hwm), max(peak.anon, m.anon), max(peak.file, m.file)}
			}
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() procMem {
		close(stop)
		return <-done
	}
}
