//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
)

// TestOneDisk measures one large disk alone: a single VHDX of OS-like files
// and random data (2 GiB virtual; SHADOWVAULT_BENCH_ONEDISK_MIB to change),
// backed up by shadowvault (agent and server on this machine) and by
// restic 0.18.1, and chunked by the chunker alone on one core from memory.
// The figure of the speed issue is shadowvault's MB/s over the chunker's
// (one stream must use every core). It runs with
// SHADOWVAULT_BENCH_COMPARE=1 (make bench) and saves its table beside the
// comparison's.
func TestOneDisk(t *testing.T) {
	if os.Getenv("SHADOWVAULT_BENCH_COMPARE") == "" {
		t.Skip("runs with SHADOWVAULT_BENCH_COMPARE=1 (make bench)")
	}
	start, load0 := time.Now(), loadAvg()
	disk := envInt("SHADOWVAULT_BENCH_ONEDISK_MIB", 2048)
	p := CorpusParams{VMs: 1, SharedMiB: disk * 3 / 10, UniqueMiB: disk / 10, DiskMiB: disk,
		Every: 1, Roots: []string{"/usr/lib", "/usr/share"}, ChangePercent: 3}
	c, err := BuildCorpus(filepath.Join(cacheDir(), "bench-onedisk"), p, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	img := c.VMs[0].VHDX
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}

	// The chunker alone, one core, over the file's bytes in memory.
	params, err := chunk.DefaultParams()
	if err != nil {
		t.Fatal(err)
	}
	sp := chunk.NewSplitter(params)
	buf := make([]byte, 0, params.MaxSize)
	best := time.Duration(1 << 62)
	for range 3 {
		t0 := time.Now()
		sp.Reset(bytes.NewReader(data))
		for {
			if _, err := sp.Next(buf[:0]); err == io.EOF {
				break
			}
		}
		best = min(best, time.Since(t0))
	}
	chunkerMBps := float64(len(data)) / 1e6 / best.Seconds()

	work := t.TempDir()
	bin := buildBinary(t, work)
	rows := []string{}
	var svMBps float64
	for _, name := range []string{"sv-vhdx", "restic"} {
		sys, _ := newSystem(t, name, bin)
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := sys.init(dir); err != nil {
			t.Fatalf("%s init: %v", name, err)
		}
		u, err := sys.backup(dir, []string{img})
		sys.close()
		if err != nil {
			t.Fatalf("%s backup: %v", name, err)
		}
		if u.Input == 0 {
			u.Input = int64(len(data))
		}
		if name == "sv-vhdx" {
			svMBps = u.mbps()
		}
		rss := fmt.Sprintf("%d", u.rss()>>10)
		if u.RSSServer > 0 {
			rss = fmt.Sprintf("server %d / client %d", u.RSSServer>>10, u.RSSClient>>10)
		}
		rows = append(rows, fmt.Sprintf("| %s | %.0f | %.2fx | %.1f | %s |", name, u.mbps(), u.mbps()/chunkerMBps, u.CPU.Seconds(), rss))
		os.RemoveAll(dir)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# One large disk, %s\n\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Machine: %d cores, %s. Load average before/after: %s / %s. Run took %s.\n\n", runtime.NumCPU(), runtime.Version(), load0, loadAvg(), time.Since(start).Round(time.Second))
	fmt.Fprintf(&b, "Disk: one dynamic VHDX by qemu-img, %d MiB virtual, an NTFS volume of %d OS files (%.0f MB) and %d MiB of random data; the file is %.0f MB. MB/s are of the file's bytes.\n\n",
		disk, c.SharedFiles, float64(c.SharedBytes)/1e6, p.UniqueMiB, float64(len(data))/1e6)
	fmt.Fprintf(&b, "The chunker alone (restic/chunker, default shadowvault parameters, one goroutine, from memory): %.0f MB/s.\n\n", chunkerMBps)
	b.WriteString("| system | MB/s | vs chunker alone | CPU s | peak RSS MiB |\n|---|---|---|---|---|\n")
	b.WriteString(strings.Join(rows, "\n") + "\n")
	fmt.Fprintf(&b, "\nshadowvault / chunker alone: %.2fx (target: >= 1.7x on 2 cores).\n", svMBps/chunkerMBps)
	fmt.Println(b.String())
	saveResult(t, fmt.Sprintf("%s-%dcores-onedisk", time.Now().Format("2006-01-02"), runtime.NumCPU()), b.String())
}
