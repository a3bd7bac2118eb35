//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// TestCompare is the comparison table: shadowvault (a real server process
// and the `shadowvault backup` CLI over loopback HTTP), restic and borg back
// up the same corpus images, back them up again unchanged, again after VM 1
// changed, and restore VM 1's disk. It runs only with
// SHADOWVAULT_BENCH_COMPARE=1 (`make bench`). Knobs:
//
//	SHADOWVAULT_BENCH_SCALE      corpus size factor (default 1: 3 x 512 MiB disks)
//	SHADOWVAULT_BENCH_VMS        number of VMs (default 3)
//	SHADOWVAULT_BENCH_REPEAT     repetitions; the table shows medians and ranges (default 1)
//	SHADOWVAULT_BENCH_SYSTEMS    comma list of sv-vhdx, sv-vhdx-nohints, sv-vhd, restic, borg
//	                             (default all but sv-vhdx-nohints)
//	SHADOWVAULT_BENCH_PARALLEL   shadowvault backup clients (VMs) run at once (default 2,
//	                             restic's read concurrency; 0: all)
//	SHADOWVAULT_BENCH_WORKDIR    where repositories go (default a temp dir)
//	SHADOWVAULT_BENCH_RESULTS    results directory (default bench/results)
func TestCompare(t *testing.T) {
	if os.Getenv("SHADOWVAULT_BENCH_COMPARE") == "" {
		t.Skip("the comparison runs with SHADOWVAULT_BENCH_COMPARE=1 (make bench)")
	}
	for _, tool := range []string{"restic", "borg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run scripts/ensure-deps.sh bench", tool)
		}
	}
	cache := os.Getenv("SHADOWVAULT_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "shadowvault")
	}
	start := time.Now()
	load0 := loadAvg()
	c, err := BuildCorpus(filepath.Join(cache, "bench-corpus"), DefaultCorpusParams(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("corpus ready after %s", time.Since(start).Round(time.Second))

	work := os.Getenv("SHADOWVAULT_BENCH_WORKDIR")
	if work == "" {
		work = t.TempDir()
	} else if work, err = os.MkdirTemp(work, "compare-"); err != nil {
		t.Fatal(err)
	} else {
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "shadowvault")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/shadowvault").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	names := strings.Split(envStr("SHADOWVAULT_BENCH_SYSTEMS", "sv-vhdx,sv-vhd,restic,borg"), ",")
	reps := envInt("SHADOWVAULT_BENCH_REPEAT", 1)
	results := map[string][]*runResult{}
	for rep := 0; rep < reps; rep++ {
		for _, name := range names {
			sys, container := newSystem(t, name, bin)
			dir := filepath.Join(work, fmt.Sprintf("%s-%d", name, rep))
			res, err := runScenario(t, sys, c, container, dir)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			os.RemoveAll(dir)
			t.Logf("%s run %d: first %.0f MB/s, unchanged %.0f MB/s, changed %.0f MB/s, restore %.0f MB/s, stored/input %.3f",
				name, rep+1, res.Phase[0].mbps(), res.Phase[1].mbps(), res.Phase[2].mbps(), res.Phase[3].mbps(), res.StoredRatio)
			results[name] = append(results[name], res)
		}
	}
	table := renderTable(c, names, results, reps, load0, loadAvg(), time.Since(start))
	fmt.Println(table)
	dirOut := envStr("SHADOWVAULT_BENCH_RESULTS", "results")
	if err := os.MkdirAll(dirOut, 0o755); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s-%dcores", time.Now().Format("2006-01-02"), runtime.NumCPU())
	if s := os.Getenv("SHADOWVAULT_BENCH_SCALE"); s != "" && s != "1" {
		name += "-scale" + s
	}
	out := filepath.Join(dirOut, name+".md")
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("table saved to %s", out)
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// usage is what one step cost.
type usage struct {
	Wall      time.Duration
	CPU       time.Duration // user+sys of every process involved
	RSSClient int64         // KiB; the backup tool itself (restic, borg, our CLI)
	RSSServer int64         // KiB; shadowvault's server (0 for the others)
	Input     int64         // bytes read (backup) or written (restore)
	Identical *bool         // restore only
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

// svParallel is how many shadowvault backup clients run at once: 2 by
// default, as restic 0.14 reads 2 files at once (--read-concurrency).
func svParallel() int {
	if v, err := strconv.Atoi(os.Getenv("SHADOWVAULT_BENCH_PARALLEL")); err == nil && v >= 0 {
		return v
	}
	return 2
}

func newSystem(t *testing.T, name, bin string) (system, string) {
	switch name {
	case "sv-vhdx":
		return &shadowvault{t: t, bin: bin, parallel: svParallel()}, "vhdx"
	case "sv-vhdx-nohints":
		return &shadowvault{t: t, bin: bin, parallel: svParallel(), extra: []string{"--guest-hints=false"}}, "vhdx"
	case "sv-vhd":
		return &shadowvault{t: t, bin: bin, parallel: svParallel()}, "vhd"
	case "restic":
		return &restic{}, "vhdx"
	case "borg":
		return &borg{}, "vhdx"
	}
	t.Fatalf("unknown system %q (sv-vhdx, sv-vhdx-nohints, sv-vhd, restic, borg)", name)
	return nil, ""
}

// runScenario runs the four steps. The disks are hard links in dir/disks
// (same names in every step, as a host's VM folder); before each re-backup
// they are touched, as the files of running VMs always have a new mtime, so
// that restic's and borg's file caches do not skip reading them.
func runScenario(t *testing.T, sys system, c *Corpus, container, dir string) (*runResult, error) {
	disks := filepath.Join(dir, "disks")
	if err := os.MkdirAll(disks, 0o755); err != nil {
		return nil, err
	}
	pick := func(vm VMImage) string {
		if container == "vhd" {
			return vm.VHD
		}
		return vm.VHDX
	}
	var files []string
	link := func(src, name string) error {
		dst := filepath.Join(disks, name)
		os.Remove(dst)
		if err := os.Link(src, dst); err != nil {
			return copyFile(src, dst)
		}
		return nil
	}
	for _, vm := range c.VMs {
		name := vm.Name + "." + container
		if err := link(pick(vm), name); err != nil {
			return nil, err
		}
		files = append(files, filepath.Join(disks, name))
	}
	touch := func() {
		now := time.Now()
		for _, f := range files {
			os.Chtimes(f, now, now)
		}
	}
	if err := sys.init(dir); err != nil {
		return nil, err
	}
	defer sys.close()
	var r runResult
	var err error
	for step := 0; step < 3; step++ {
		switch step {
		case 1:
			touch()
		case 2:
			if err := link(pick(c.Changed), filepath.Base(files[0])); err != nil {
				return nil, err
			}
			touch()
		}
		syscall.Sync()
		if r.Phase[step], err = sys.backup(dir, files); err != nil {
			return nil, fmt.Errorf("backup %d: %w", step+1, err)
		}
		for _, f := range files {
			st, _ := os.Stat(f)
			r.Phase[step].Input += st.Size()
		}
		syscall.Sync()
		r.Stored[step] = sys.repoBytes(dir)
	}
	r.StoredRatio = float64(r.Stored[0]) / float64(r.Phase[0].Input)

	out := filepath.Join(dir, "restored")
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	syscall.Sync()
	u, err := sys.restore(dir, files[0], filepath.Join(out, "disk"))
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	got, n, err := sha256File(filepath.Join(out, "disk"))
	if err != nil {
		return nil, err
	}
	want, _, err := sha256File(files[0])
	if err != nil {
		return nil, err
	}
	same := got == want
	u.Input, u.Identical = n, &same
	r.Phase[3] = u
	os.RemoveAll(out)
	return &r, nil
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

// --- restic ---

type restic struct{ env []string }

func (r *restic) cmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("restic", append([]string{"-r", filepath.Join(dir, "repo"), "-q"}, args...)...)
	cmd.Env = append(os.Environ(), r.env...)
	cmd.Dir = dir
	return cmd
}

func (r *restic) init(dir string) error {
	r.env = []string{"RESTIC_PASSWORD=bench", "RESTIC_CACHE_DIR=" + filepath.Join(dir, "restic-cache")}
	_, _, err := runTool(r.cmd(dir, "init"))
	return err
}

func (r *restic) backup(dir string, files []string) (usage, error) {
	u, _, err := runTool(r.cmd(dir, append([]string{"backup", "--host", "HV01"}, files...)...))
	return u, err
}

func (r *restic) restore(dir, file, out string) (usage, error) {
	target := filepath.Join(dir, "restic-restore")
	u, _, err := runTool(r.cmd(dir, "restore", "latest", "--target", target, "--include", file))
	if err != nil {
		return u, err
	}
	defer os.RemoveAll(target)
	return u, os.Rename(filepath.Join(target, file), out)
}

func (r *restic) repoBytes(dir string) int64 { return dirBytes(filepath.Join(dir, "repo")) }
func (r *restic) close()                     {}

// --- borg ---

type borg struct {
	n int
}

func (b *borg) cmd(dir, cwd string, args ...string) *exec.Cmd {
	cmd := exec.Command("borg", args...)
	cmd.Env = append(os.Environ(), "BORG_BASE_DIR="+filepath.Join(dir, "borg-base"),
		"BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes", "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes")
	cmd.Dir = cwd
	return cmd
}

func (b *borg) init(dir string) error {
	_, _, err := runTool(b.cmd(dir, dir, "init", "-e", "none", filepath.Join(dir, "repo")))
	return err
}

// backup archives the disks by their paths relative to dir ("disks/...").
func (b *borg) backup(dir string, files []string) (usage, error) {
	b.n++
	args := []string{"create", fmt.Sprintf("%s::b%d", filepath.Join(dir, "repo"), b.n)}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		args = append(args, rel)
	}
	u, _, err := runTool(b.cmd(dir, dir, args...))
	return u, err
}

func (b *borg) restore(dir, file, out string) (usage, error) {
	target := filepath.Join(dir, "borg-restore")
	os.MkdirAll(target, 0o755)
	defer os.RemoveAll(target)
	rel, _ := filepath.Rel(dir, file)
	u, _, err := runTool(b.cmd(dir, target, "extract", fmt.Sprintf("%s::b%d", filepath.Join(dir, "repo"), b.n), rel))
	if err != nil {
		return u, err
	}
	return u, os.Rename(filepath.Join(target, rel), out)
}

func (b *borg) repoBytes(dir string) int64 { return dirBytes(filepath.Join(dir, "repo")) }
func (b *borg) close()                     {}

// --- shadowvault ---

// shadowvault runs `shadowvault serve` on a local repository (index and
// secrets in a separate state directory; the stored bytes count both) and
// one `shadowvault backup` process per VM. The server is started afresh
// for every step (outside the timed part), as restic and borg are, so that
// its CPU time and peak RSS are those of the step alone.
type shadowvault struct {
	t        *testing.T
	bin      string
	parallel int
	extra    []string // more backup flags
	dir      string
	server   *exec.Cmd
	url      string
	tokFile  string
	snaps    map[string]string // disk name -> latest snapshot
}

func (s *shadowvault) init(dir string) error {
	s.dir, s.snaps = dir, map[string]string{}
	s.tokFile = filepath.Join(dir, "state", "admin.token")
	return nil
}

// start starts the server on the repository.
func (s *shadowvault) start() error {
	s.server = exec.Command(s.bin, "serve", "--repo", filepath.Join(s.dir, "repo"), "--state", filepath.Join(s.dir, "state"),
		"--listen", "127.0.0.1:0", "--log-level", "info")
	stderr, err := s.server.StderrPipe()
	if err != nil {
		return err
	}
	if err := s.server.Start(); err != nil {
		return err
	}
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				url <- m[1]
			}
		}
	}()
	select {
	case s.url = <-url:
		return nil
	case <-time.After(30 * time.Second):
		s.stop()
		return fmt.Errorf("server did not start")
	}
}

// stop stops the server (SIGTERM) and returns its CPU time and peak RSS.
func (s *shadowvault) stop() (cpu time.Duration, rssKiB int64) {
	if s.server == nil || s.server.Process == nil {
		return 0, 0
	}
	s.server.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.server.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.server.Process.Kill()
		<-done
	}
	if ru, ok := s.server.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu, rssKiB = time.Duration(ru.Utime.Nano()+ru.Stime.Nano()), ru.Maxrss
	}
	s.server = nil
	return cpu, rssKiB
}

func (s *shadowvault) close() { s.stop() }

func (s *shadowvault) backup(dir string, files []string) (usage, error) {
	if err := s.start(); err != nil {
		return usage{}, err
	}
	t0 := time.Now()
	type res struct {
		u    usage
		file string
		snap string
		err  error
	}
	ch := make(chan res, len(files))
	par := s.parallel
	if par <= 0 {
		par = len(files)
	}
	sem := make(chan struct{}, par)
	for i, f := range files {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			args := append([]string{"backup", "--server", s.url, "--token", "@" + s.tokFile,
				"--host", "HV01", "--vm", fmt.Sprintf("VM%d", i+1)}, s.extra...)
			cmd := exec.Command(s.bin, append(args, f)...)
			u, out, err := runTool(cmd)
			var rc struct{ Snapshot string }
			if err == nil {
				err = json.Unmarshal(out, &rc)
			}
			ch <- res{u, f, rc.Snapshot, err}
		}()
	}
	var u usage
	var firstErr error
	for range files {
		r := <-ch
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		u.CPU += r.u.CPU
		u.RSSClient = max(u.RSSClient, r.u.RSSClient)
		s.snaps[filepath.Base(r.file)] = r.snap
	}
	u.Wall = time.Since(t0)
	cpu, rss := s.stop()
	u.CPU += cpu
	u.RSSServer = rss
	return u, firstErr
}

func (s *shadowvault) restore(dir, file, out string) (usage, error) {
	if err := s.start(); err != nil {
		return usage{}, err
	}
	name := filepath.Base(file)
	u, _, err := runTool(exec.Command(s.bin, "restore", "--server", s.url, "--token", "@"+s.tokFile,
		"--format", "original", "-o", out, s.snaps[name], name))
	cpu, rss := s.stop()
	u.CPU += cpu
	u.RSSServer = rss
	return u, err
}

func (s *shadowvault) repoBytes(dir string) int64 {
	return dirBytes(filepath.Join(dir, "repo"), filepath.Join(dir, "state"))
}

// --- the table ---

var systemLabels = map[string]string{
	"sv-vhdx":         "shadowvault (VHDX)",
	"sv-vhd":          "shadowvault (VHD)",
	"sv-vhdx-nohints": "shadowvault (VHDX, --guest-hints=false)",
	"restic":          "restic (VHDX)",
	"borg":            "borg (VHDX)",
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// stat is the median of a metric over the repetitions, with its range.
func stat(rs []*runResult, f func(*runResult) float64) (med, lo, hi float64) {
	var v []float64
	for _, r := range rs {
		v = append(v, f(r))
	}
	return median(v), slices.Min(v), slices.Max(v)
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func toolVersion(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return "?"
}

func renderTable(c *Corpus, names []string, results map[string][]*runResult, reps int, load0, load1 string, took time.Duration) string {
	var b strings.Builder
	p := c.Params
	var inVHDX, inVHD int64
	for _, vm := range c.VMs {
		if st, err := os.Stat(vm.VHDX); err == nil {
			inVHDX += st.Size()
		}
		if st, err := os.Stat(vm.VHD); err == nil {
			inVHD += st.Size()
		}
	}
	fmt.Fprintf(&b, "# shadowvault vs restic vs borg, %s\n\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Code: %s. Machine: %d cores (%s), %s; %s; %s. Load average before/after: %s / %s. Run took %s.\n\n",
		toolVersion("git", "describe", "--always", "--dirty"), runtime.NumCPU(), cpuModel(), runtime.Version(),
		toolVersion("restic", "version"), toolVersion("borg", "--version"), load0, load1, took.Round(time.Second))
	fmt.Fprintf(&b, "Corpus: %d VMs, each an MBR disk of %d MiB with one NTFS partition holding the same %d files (%.1f MB: one in %d of the files of 16 KiB..16 MiB under %s, by sorted path) in a different order, plus %d MiB of unique random data; dynamic VHD and VHDX by qemu-img. Changed step: VM 1 with %d files (%d%%) modified in place (%d KiB of new bytes). Input of each backup: %.1f MB of VHDX or %.1f MB of VHD files.\n\n",
		p.VMs, p.DiskMiB, c.SharedFiles, float64(c.SharedBytes)/1e6, p.Every, strings.Join(p.Roots, ","), p.UniqueMiB, c.ChangedFiles, p.ChangePercent, c.ChangedBytes>>10, float64(inVHDX)/1e6, float64(inVHD)/1e6)
	if reps > 1 {
		fmt.Fprintf(&b, "Each cell is the median of %d runs, with the range (min-max) for throughputs.\n\n", reps)
	}
	ref := results["restic"]
	ratio := func(name string, f func(*runResult) float64) string {
		if len(ref) == 0 {
			return "-"
		}
		m, _, _ := stat(results[name], f)
		rm, _, _ := stat(ref, f)
		if rm == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", m/rm)
	}
	mbps := func(name string, f func(*runResult) float64) string {
		m, lo, hi := stat(results[name], f)
		if reps > 1 {
			return fmt.Sprintf("%.0f (%.0f-%.0f)", m, lo, hi)
		}
		return fmt.Sprintf("%.0f", m)
	}
	rssCell := func(name string, k int) string {
		cl, _, _ := stat(results[name], func(r *runResult) float64 { return float64(r.Phase[k].RSSClient) / 1024 })
		sv, _, _ := stat(results[name], func(r *runResult) float64 { return float64(r.Phase[k].RSSServer) / 1024 })
		if sv > 0 {
			return fmt.Sprintf("server %.0f / client %.0f", sv, cl)
		}
		return fmt.Sprintf("%.0f", cl)
	}
	steps := []string{"1. First backup of all VMs", "2. Second backup, disks unchanged (mtime touched)", "3. Second backup after VM 1 changed"}
	for k, title := range steps {
		fmt.Fprintf(&b, "### %s\n\n", title)
		extra := "stored MB (stored / input)"
		if k > 0 {
			extra = "repository growth"
		}
		fmt.Fprintf(&b, "| system | MB/s | vs restic | CPU s | vs restic | peak RSS MiB | vs restic | %s |\n|---|---|---|---|---|---|---|---|\n", extra)
		for _, name := range names {
			rs := results[name]
			tp := func(r *runResult) float64 { return r.Phase[k].mbps() }
			cpu := func(r *runResult) float64 { return r.Phase[k].CPU.Seconds() }
			rss := func(r *runResult) float64 { return float64(r.Phase[k].rss()) }
			cpuM, _, _ := stat(rs, cpu)
			var last string
			if k == 0 {
				m, _, _ := stat(rs, func(r *runResult) float64 { return r.StoredRatio })
				st, _, _ := stat(rs, func(r *runResult) float64 { return float64(r.Stored[0]) })
				last = fmt.Sprintf("%.1f (%.3f)", st/1e6, m)
			} else {
				m, _, _ := stat(rs, func(r *runResult) float64 { return float64(r.Stored[k] - r.Stored[k-1]) })
				last = fmt.Sprintf("%.1f MB", m/1e6)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %s | %s | %s | %s |\n", systemLabels[name], mbps(name, tp), ratio(name, tp),
				cpuM, ratio(name, cpu), rssCell(name, k), ratio(name, rss), last)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "### 4. Full restore of VM 1's disk (latest backup)\n\n")
	fmt.Fprintf(&b, "| system | MB/s | vs restic | CPU s | peak RSS MiB | byte-identical |\n|---|---|---|---|---|---|\n")
	for _, name := range names {
		rs := results[name]
		tp := func(r *runResult) float64 { return r.Phase[3].mbps() }
		cpuM, _, _ := stat(rs, func(r *runResult) float64 { return r.Phase[3].CPU.Seconds() })
		ident := "yes"
		for _, r := range rs {
			if r.Phase[3].Identical == nil || !*r.Phase[3].Identical {
				ident = "NO"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %s | %s |\n", systemLabels[name], mbps(name, tp), ratio(name, tp), cpuM, rssCell(name, 3), ident)
	}
	b.WriteString(`
Method: every system runs on the same image files (hard links in one folder, touched before each
re-backup as a running VM's files are), from the page cache; ` + "`sync`" + ` runs between steps. MB/s is
input bytes (the image files' sizes) / wall seconds. CPU is user+sys of every process (shadowvault: the
server, started afresh for each step, plus the backup CLI processes). Peak RSS: the largest VmHWM of the
processes (shadowvault: the server, started afresh for each step, and the CLI separately; "vs restic" uses
the larger). Stored bytes: every file of the repository (shadowvault: packs, manifests, disk maps and the bbolt
index). shadowvault: one ` + "`shadowvault backup`" + ` process per VM (CLI defaults: guest hints on)` + fmt.Sprintf(" (%d at a time; 0: all)", svParallel()) + `, restore with
` + "`--format original`" + ` (the CLI fsyncs the output). restic: ` + "`restic backup`" + ` of the three files, default
compression (auto), ` + "`restic restore latest --include`" + `. borg: ` + "`borg init -e none`" + `, ` + "`borg create`" + ` with
default lz4, ` + "`borg extract`" + `.
`)
	return b.String()
}

// BenchmarkCorpusBackup backs up the corpus's VMs in process (test server
// on a local repository, agent.Backup as the CLI runs it, guest hints on),
// so that `go test -bench CorpusBackup -cpuprofile` profiles client and
// server together: "first" into an empty repository, "unchanged" again.
// SHADOWVAULT_BENCH_HINTS=0 turns the guest hints off.
// SHADOWVAULT_BENCH_CPUPROFILE=PREFIX writes a CPU profile of the timed
// part alone (not the setup) to PREFIX-<sub-benchmark>.pprof.
func BenchmarkCorpusBackup(b *testing.B) {
	cache := os.Getenv("SHADOWVAULT_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "shadowvault")
	}
	c, err := BuildCorpus(filepath.Join(cache, "bench-corpus"), DefaultCorpusParams(), b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, container := range []string{"vhdx", "vhd"} {
		var files []string
		var input int64
		for _, vm := range c.VMs {
			f := vm.VHDX
			if container == "vhd" {
				f = vm.VHD
			}
			st, err := os.Stat(f)
			if err != nil {
				b.Fatal(err)
			}
			files, input = append(files, f), input+st.Size()
		}
		backupAll := func(b *testing.B, s *testserver.Server) {
			for i, f := range files {
				_, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
					Host: "HV01", VM: fmt.Sprintf("VM%d", i+1), Type: "full", Consistency: "application",
					Disks: []string{f}, ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, GuestHints: os.Getenv("SHADOWVAULT_BENCH_HINTS") != "0",
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, step := range []string{"first", "unchanged"} {
			b.Run(container+"/"+step, func(b *testing.B) {
				b.SetBytes(input)
				var stored int64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					s := testserver.Start(b, testserver.Options{PackSize: 16 << 20})
					if step == "unchanged" {
						backupAll(b, s)
					}
					stopProfile := profileStep(b)
					b.StartTimer()
					backupAll(b, s)
					b.StopTimer()
					stopProfile()
					stored = dirBytes(s.Dir)
					b.StartTimer()
				}
				if step == "first" {
					b.ReportMetric(float64(stored)/float64(input), "stored/input")
				}
			})
		}
	}
}

// profileStep starts a CPU profile of the timed part of b when
// SHADOWVAULT_BENCH_CPUPROFILE is set, and returns the function that stops
// it.
func profileStep(b *testing.B) func() {
	prefix := os.Getenv("SHADOWVAULT_BENCH_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s-%s.pprof", prefix, strings.NewReplacer("/", "-").Replace(b.Name())))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Logf("no step profile: %v", err) // -cpuprofile is on
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
