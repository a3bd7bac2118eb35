package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

func benchSize(def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv("SHADOWVAULT_BENCH_MIB"), 10, 64); err == nil && v > 0 {
		return v << 20
	}
	return def
}

// ingest sends streams disks of size bytes at once, each in its own session.
func ingest(b testing.TB, c *agent.Client, streams int, size int64, seed uint64) {
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := context.Background()
			id, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: fmt.Sprintf("VM%d", i), BackupType: "full", Consistency: "application"})
			if err != nil {
				errs <- err
				return
			}
			if _, err := c.PutDisk(ctx, id, "disk.raw", Incompressible(seed+uint64(i), size), size, "raw"); err != nil {
				errs <- err
				return
			}
			if _, err := c.Complete(ctx, id); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkIngestHTTP measures end-to-end ingest of incompressible data over
// loopback HTTP into a local repository (packs fsynced), client included.
func BenchmarkIngestHTTP(b *testing.B) {
	for _, streams := range []int{1, 2} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			size := benchSize(1<<30) / int64(streams)
			s := testserver.Start(b, testserver.Options{PackSize: 16 << 20})
			c := s.Client("")
			b.SetBytes(size * int64(streams))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				ingest(b, c, streams, size, uint64(i*100+streams))
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(size*int64(streams)*int64(b.N))/1e6/secs, "MB/s")
		})
	}
}

var listenRE = regexp.MustCompile(`listen=(http://[0-9.:]+)`)

// BenchmarkServerRSS starts the real server binary, ingests one disk of
// 4 GiB (SHADOWVAULT_BENCH_RSS_MIB), or that much in
// SHADOWVAULT_BENCH_RSS_STREAMS disks at once, and reports the server's
// peak RSS.
func BenchmarkServerRSS(b *testing.B) {
	size := int64(4 << 30)
	if v, err := strconv.ParseInt(os.Getenv("SHADOWVAULT_BENCH_RSS_MIB"), 10, 64); err == nil && v > 0 {
		size = v << 20
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "shadowvault")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/shadowvault").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--repo", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--log-level", "warn")
	stderr, _ := cmd.StderrPipe()
	cmd.Args = append(cmd.Args[:len(cmd.Args)-2], "--log-level", "info")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				url <- m[1]
			}
		}
	}()
	var u string
	select {
	case u = <-url:
	case <-time.After(20 * time.Second):
		b.Fatal("server did not start")
	}
	tok, _ := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	c := &agent.Client{Server: u, Token: strings.TrimSpace(string(tok))}
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	streams := 1
	if v, err := strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_RSS_STREAMS")); err == nil && v > 0 {
		streams = v
	}
	size /= int64(streams)
	for i := 0; i < b.N; i++ {
		ingest(b, c, streams, size, uint64(1000+i*streams))
	}
	size *= int64(streams)
	secs := time.Since(start).Seconds()
	b.StopTimer()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		b.Fatal("no VmHWM in /proc status")
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	b.ReportMetric(kb/1024, "peak-RSS-MiB")
	// CPU time is steadier than wall time on a busy machine.
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)); err == nil {
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		ut, _ := strconv.ParseFloat(f[11], 64) // utime and stime, fields 14 and 15, in ticks of 1/100 s
		st, _ := strconv.ParseFloat(f[12], 64)
		b.ReportMetric((ut+st)/100/(float64(size*int64(b.N))/1e9), "server-CPU-s/GB")
	}
	b.ReportMetric(float64(size*int64(b.N))/1e6/secs, "MB/s")
}
