//go:build linux

package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCompare is the comparison table: shadowvault (a real server process
// and the `shadowvault backup` CLI over loopback HTTP, full and incremental),
// restic 0.18.1, restic 0.14 and borg back up the same corpus images, back
// them up again unchanged, again after VM 1 changed, and restore VM 1's
// disk. It runs only with SHADOWVAULT_BENCH_COMPARE=1 (`make bench`). Knobs:
//
//	SHADOWVAULT_BENCH_SCALE      corpus size factor (default 1: 3 x 512 MiB disks)
//	SHADOWVAULT_BENCH_VMS        number of VMs (default 3)
//	SHADOWVAULT_BENCH_REPEAT     repetitions; the table shows medians and ranges (default 1)
//	SHADOWVAULT_BENCH_SYSTEMS    comma list of sv-vhdx, sv-vhdx-incr, sv-vhdx-ranges,
//	                             sv-vhdx-nohints, sv-vhd, restic, restic-0.14, borg
//	                             (default all but sv-vhdx-nohints)
//	SHADOWVAULT_BENCH_PARALLEL   shadowvault backup clients (VMs) run at once (default 2,
//	                             restic's read concurrency; 0: all)
//	SHADOWVAULT_BENCH_RESTIC     restic 0.18.1 binary (default: where scripts/ensure-restic.sh
//	                             puts it); restic-0.14 is the restic on PATH (Debian's)
//	SHADOWVAULT_BENCH_WORKDIR    where repositories go (default a temp dir)
//	SHADOWVAULT_BENCH_RESULTS    results directory (default bench/results)
func TestCompare(t *testing.T) {
	if os.Getenv("SHADOWVAULT_BENCH_COMPARE") == "" {
		t.Skip("the comparison runs with SHADOWVAULT_BENCH_COMPARE=1 (make bench)")
	}
	names := strings.Split(envStr("SHADOWVAULT_BENCH_SYSTEMS", "sv-vhdx,sv-vhdx-incr,sv-vhdx-ranges,sv-vhd,restic,restic-0.14,borg"), ",")
	for _, tool := range []string{"restic", "borg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run scripts/ensure-deps.sh bench", tool)
		}
	}
	if slices.Contains(names, "restic") {
		if _, err := os.Stat(resticBinary()); err != nil {
			t.Fatalf("restic %s not found (%v): run scripts/ensure-restic.sh", resticVersion, err)
		}
	}
	start := time.Now()
	load0 := loadAvg()
	c, err := BuildCorpus(filepath.Join(cacheDir(), "bench-corpus"), DefaultCorpusParams(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("corpus ready after %s", time.Since(start).Round(time.Second))
	// What changed in step 3, by the virtual content (outside any timing).
	truth, err := virtualDiff(c.VMs[0].VHDX, c.Changed.VHDX)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("vm1 changed: %d ranges, %d bytes of virtual content (4 KiB granularity)", len(truth), changesBytes(truth))

	work := os.Getenv("SHADOWVAULT_BENCH_WORKDIR")
	if work == "" {
		work = t.TempDir()
	} else if work, err = os.MkdirTemp(work, "compare-"); err != nil {
		t.Fatal(err)
	} else {
		defer os.RemoveAll(work)
	}
	bin := buildBinary(t, work)
	reps := envInt("SHADOWVAULT_BENCH_REPEAT", 1)
	results := map[string][]*runResult{}
	for rep := 0; rep < reps; rep++ {
		for _, name := range names {
			sys, container := newSystem(t, name, bin)
			dir := filepath.Join(work, fmt.Sprintf("%s-%d", name, rep))
			res, err := runScenario(sys, c, container, dir)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			os.RemoveAll(dir)
			t.Logf("%s run %d: first %.0f MB/s, unchanged %.0f MB/s, changed %.0f MB/s (sent %d bytes), restore %.0f MB/s, stored/input %.3f",
				name, rep+1, res.Phase[0].mbps(), res.Phase[1].mbps(), res.Phase[2].mbps(), res.Phase[2].Sent, res.Phase[3].mbps(), res.StoredRatio)
			results[name] = append(results[name], res)
		}
	}
	table := renderTable(c, truth, names, results, reps, load0, loadAvg(), time.Since(start))
	fmt.Println(table)
	name := fmt.Sprintf("%s-%dcores", time.Now().Format("2006-01-02"), runtime.NumCPU())
	if s := os.Getenv("SHADOWVAULT_BENCH_SCALE"); s != "" && s != "1" {
		name += "-scale" + s
	}
	saveResult(t, name, table)
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// buildBinary builds the shadowvault binary into dir.
func buildBinary(t *testing.T, dir string) string {
	bin := filepath.Join(dir, "shadowvault")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/shadowvault").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// saveResult writes a table to the results directory as name.md.
func saveResult(t *testing.T, name, table string) {
	dir := envStr("SHADOWVAULT_BENCH_RESULTS", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+".md")
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("table saved to %s", out)
}

// usage is what one step cost.
type usage struct {
	Wall      time.Duration
	CPU       time.Duration // user+sys of every process involved
	RSSClient int64         // KiB; the backup tool itself (restic, borg, our CLI)
	RSSServer int64         // KiB; shadowvault's server (0 for the others)
	Input     int64         // bytes read (backup) or written (restore)
	Identical *bool         // restore only
	// shadowvault only: the receipts' stream_bytes (the bytes sent, by
	// disk name; nil for the others), changed_bytes and new_bytes, whether
	// a disk went up incrementally, and the wait for
	// the new disks' block digests after the step (not in Wall or CPU),
	// with the server's CPU meanwhile.
	Sent       int64
	SentByDisk map[string]int64
	Changed    int64
	New        int64
	Incr       bool
	DigestWait time.Duration
	DigestCPU  time.Duration
}

func (u usage) mbps() float64 { return float64(u.Input) / 1e6 / u.Wall.Seconds() }

func (u usage) rss() int64 { return max(u.RSSClient, u.RSSServer) }

type runResult struct {
	Phase       [4]usage // first, unchanged, changed, restore
	Stored      [3]int64 // repository bytes after each backup
	StoredRatio float64  // after the first backup
}

// system is one backup tool under test.
type system interface {
	init(dir string) error
	backup(dir string, files []string) (usage, error)
	// restore writes the latest backup of file (its path as backed up) to out.
	restore(dir, file, out string) (usage, error)
	repoBytes(dir string) int64
	close()
}

// stepper is a system told, before each backup step and outside its
// timing, which image each disk file is now and was in the step before
// ("" before the first).
type stepper interface {
	beforeStep(step int, prev, cur []string) error
}

// virtualRestorer is a system whose restore is a new container of the
// same virtual content, not the backed-up file byte for byte.
type virtualRestorer interface {
	restoresVirtual() bool
}

// svParallel is how many shadowvault backup clients run at once: 2 by
// default, as restic 0.14 reads 2 files at once (--read-concurrency).
func svParallel() int {
	if v, err := strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_PARALLEL")); err == nil && v >= 0 {
		return v
	}
	return 2
}

func newSystem(t *testing.T, name, bin string) (system, string) {
	sv := func(mode string, extra ...string) *shadowvault {
		return &shadowvault{bin: bin, parallel: svParallel(), mode: mode, extra: extra}
	}
	switch name {
	case "sv-vhdx":
		return sv(""), "vhdx"
	case "sv-vhdx-incr":
		return sv(modeDigests), "vhdx"
	case "sv-vhdx-ranges":
		return sv(modeRanges), "vhdx"
	case "sv-vhdx-nohints":
		return sv("", "--guest-hints=false"), "vhdx"
	case "sv-vhd":
		return sv(""), "vhd"
	case "restic":
		return &restic{bin: resticBinary()}, "vhdx"
	case "restic-0.14":
		return &restic{bin: "restic"}, "vhdx"
	case "borg":
		return &borg{}, "vhdx"
	}
	t.Fatalf("unknown system %q (sv-vhdx, sv-vhdx-incr, sv-vhdx-ranges, sv-vhdx-nohints, sv-vhd, restic, restic-0.14, borg)", name)
	return nil, ""
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func sha256File(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// dirBytes is the apparent size of every file under the given directories.
func dirBytes(dirs ...string) int64 {
	var n int64
	for _, d := range dirs {
		filepath.WalkDir(d, func(_ string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
	}
	return n
}

// runTool runs a command and returns its usage (rusage of the process and
// the children it waited for) and stdout.
func runTool(cmd *exec.Cmd) (usage, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	u := usage{Wall: time.Since(t0)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			u.RSSClient = ru.Maxrss
		}
	}
	if err != nil {
		return u, nil, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, tail(stderr.Bytes(), 2000))
	}
	return u, stdout.Bytes(), nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
