//go:build linux

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRestoreSpeed measures restores alone, each repeated and the systems
// interleaved, so that the load of a shared machine falls on all of them
// alike:
//
//  1. VM 1's disk of the comparison (TestCompare's corpus: the three VMs
//     backed up, then again with VM 1 changed), restored as its original
//     VHDX file by shadowvault (`restore --format original -o`, which
//     fsyncs) and by restic 0.18.1, with the wall time of the client
//     process, the server started afresh outside it, as in TestCompare;
//  2. a raw disk of SHADOWVAULT_BENCH_RAW_GIB GiB (default 2), mostly data
//     (one region in 8 zero), restored by `restore --format raw -o` into
//     the work directory and into /dev/shm (tmpfs: no device under the
//     fsync): MB/s of virtual content, and the bytes the file allocates
//     (its zero regions must be holes);
//  3. the same disk over HTTP to a Go client that discards it (in reads of
//     1 MiB): how fast the server serves a client that reads as fast as it
//     can;
//  4. (part s3) parts 2 and 3 from a repository in MinIO on 127.0.0.1
//     (internal/miniotest), interleaved with the local ones, and the
//     ratio of the speeds.
//
// It runs with SHADOWVAULT_BENCH_RESTORE=1. Knobs: SHADOWVAULT_BENCH_REPEAT
// (default 5), SHADOWVAULT_BENCH_SV (a shadowvault binary to measure
// instead of building this tree, e.g. an older build),
// SHADOWVAULT_BENCH_RAW_KIND (mixed, the default: random and text regions;
// random), SHADOWVAULT_BENCH_PARTS (original,raw,http,s3: which to run;
// default all),
// SHADOWVAULT_BENCH_WORKDIR.
func TestRestoreSpeed(t *testing.T) {
	if os.Getenv("SHADOWVAULT_BENCH_RESTORE") == "" {
		t.Skip("the restore benchmark runs with SHADOWVAULT_BENCH_RESTORE=1")
	}
	work := os.Getenv("SHADOWVAULT_BENCH_WORKDIR")
	if work == "" {
		work = t.TempDir()
	} else {
		var err error
		if work, err = os.MkdirTemp(work, "restorespeed-"); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	bin := os.Getenv("SHADOWVAULT_BENCH_SV")
	if bin == "" {
		bin = buildBinary(t, work)
	}
	reps := envInt("SHADOWVAULT_BENCH_REPEAT", 5)
	parts := strings.Split(envStr("SHADOWVAULT_BENCH_PARTS", "original,raw,http,s3"), ",")
	var report strings.Builder
	fmt.Fprintf(&report, "restore speed: %s, %d runs each, load %s\n", bin, reps, loadAvg())
	if slices.Contains(parts, "original") {
		originalVsRestic(t, &report, bin, work, reps)
	}
	if slices.Contains(parts, "raw") || slices.Contains(parts, "http") || slices.Contains(parts, "s3") {
		rawRestores(t, &report, bin, work, reps, parts)
	}
	fmt.Fprintf(&report, "load after: %s\n", loadAvg())
	fmt.Print(report.String())
}

// sample is one timed restore.
type sample struct {
	wall, cpu time.Duration
	load      string
}

// samples are the runs of one measurement.
type samples []sample

func (s samples) median() sample {
	c := slices.Clone(s)
	slices.SortFunc(c, func(a, b sample) int { return int(a.wall - b.wall) })
	return c[len(c)/2]
}

// line reports the median and range of MB/s for bytes per run.
func (s samples) line(name string, bytes int64) string {
	mb := func(x sample) float64 { return float64(bytes) / 1e6 / x.wall.Seconds() }
	lo, hi := mb(s[0]), mb(s[0])
	for _, x := range s {
		lo, hi = min(lo, mb(x)), max(hi, mb(x))
	}
	m := s.median()
	return fmt.Sprintf("%-44s %7.0f MB/s (%.0f-%.0f)  wall %.3f s  CPU %.2f s  load %s", name, mb(m), lo, hi, m.wall.Seconds(), m.cpu.Seconds(), m.load)
}

// originalVsRestic is part 1.
func originalVsRestic(t *testing.T, report io.Writer, bin, work string, reps int) {
	c, err := BuildCorpus(filepath.Join(cacheDir(), "bench-corpus"), DefaultCorpusParams(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	systems := map[string]system{"shadowvault": &shadowvault{bin: bin, parallel: svParallel()}, "restic": &restic{bin: resticBinary()}}
	names := []string{"shadowvault", "restic"}
	var disk string
	for _, name := range names {
		sys, dir := systems[name], filepath.Join(work, name)
		disks := filepath.Join(dir, "disks")
		if err := os.MkdirAll(disks, 0o755); err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, vm := range c.VMs {
			f := filepath.Join(disks, vm.Name+".vhdx")
			if err := os.Link(vm.VHDX, f); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		if err := sys.init(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := sys.backup(dir, files); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		os.Remove(files[0])
		if err := os.Link(c.Changed.VHDX, files[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := sys.backup(dir, files); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		disk = files[0]
	}
	want, size, err := sha256File(c.Changed.VHDX)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]samples{}
	for rep := range reps {
		for _, name := range names {
			dir := filepath.Join(work, name)
			out := filepath.Join(dir, "restored.vhdx")
			os.Remove(out)
			syscall.Sync()
			load := loadAvg()
			u, err := systems[name].restore(dir, filepath.Join(dir, "disks", filepath.Base(disk)), out)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			runs[name] = append(runs[name], sample{u.Wall, u.CPU, load})
			if rep == 0 {
				if got, _, err := sha256File(out); err != nil || got != want {
					t.Fatalf("%s: restored file differs (%v)", name, err)
				}
			}
			os.Remove(out)
		}
	}
	for _, s := range systems {
		s.close()
	}
	fmt.Fprintf(report, "\n1. VM 1's disk as its original VHDX (%.1f MB), from a local repository:\n", float64(size)/1e6)
	for _, name := range names {
		fmt.Fprintln(report, runs[name].line(name, size))
	}
	sv, rs := runs["shadowvault"].median(), runs["restic"].median()
	fmt.Fprintf(report, "shadowvault / restic (median wall): %.2fx\n", rs.wall.Seconds()/sv.wall.Seconds())
}

// rawRestores are parts 2 and 3, from a local repository and, with the
// part s3, from MinIO on 127.0.0.1 too.
func rawRestores(t *testing.T, report io.Writer, bin, work string, reps int, parts []string) {
	kind := envStr("SHADOWVAULT_BENCH_RAW_KIND", "mixed")
	size := int64(envInt("SHADOWVAULT_BENCH_RAW_GIB", 2)) << 30
	src := filepath.Join(work, "disk.raw")
	d, err := writeMostlyData(src, size, kind, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := sha256File(src)
	if err != nil {
		t.Fatal(err)
	}
	repos := []string{"local"}
	if slices.Contains(parts, "s3") {
		repos = append(repos, "s3")
	}
	servers := map[string]*restoreServer{}
	snaps := map[string]string{}
	for _, r := range repos {
		srv := newRestoreServer(bin, filepath.Join(work, r), nil)
		if r == "s3" {
			srv = newRestoreServer(bin, filepath.Join(work, r), startMinIO(t))
		}
		if err := srv.begin(); err != nil {
			t.Fatal(err)
		}
		_, out, err := runTool(exec.Command(bin, srv.args("backup", "--host", "HV01", "--vm", "RAW", src)...))
		srv.stop()
		if err != nil {
			t.Fatal(err)
		}
		var rc svReceipt
		if err := json.Unmarshal(out, &rc); err != nil {
			t.Fatal(err)
		}
		servers[r], snaps[r] = srv, rc.Snapshot
	}
	os.Remove(src)
	fmt.Fprintf(report, "\n2. raw restore of a %d MiB disk, %s data in %.0f%% of it (%d zero regions):\n",
		size>>20, kind, 100*float64(d.Data)/float64(size), d.Zeros)
	outputs := map[string]string{"cli raw -o (work dir, fsync)": filepath.Join(work, "out.raw"), "cli raw -o (/dev/shm)": filepath.Join("/dev/shm", fmt.Sprintf("sv-restorespeed-%d.raw", os.Getpid()))}
	var names []string
	if slices.Contains(parts, "raw") {
		names = append(names, "cli raw -o (work dir, fsync)", "cli raw -o (/dev/shm)")
	}
	if slices.Contains(parts, "http") {
		names = append(names, "http GET to a discarding reader")
	}
	runs := map[string]samples{}
	alloc := map[string]int64{}
	for rep := range reps {
		for _, r := range repos {
			srv := servers[r]
			for _, name := range names {
				key := r + ": " + name
				syscall.Sync()
				if err := srv.begin(); err != nil {
					t.Fatal(err)
				}
				load := loadAvg()
				var u usage
				if target, ok := outputs[name]; ok {
					os.Remove(target)
					u, _, err = runTool(exec.Command(bin, srv.args("restore", "--format", "raw", "-o", target, snaps[r], "disk.raw")...))
					if err == nil && rep == 0 {
						err = checkRaw(target, want, size)
					}
					if err == nil {
						var st syscall.Stat_t
						err = syscall.Stat(target, &st)
						alloc[key] = st.Blocks * 512
					}
					os.Remove(target)
				} else {
					u, err = discardGET(srv, snaps[r], "disk.raw", size)
				}
				cpu, _ := srv.stop()
				if err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				runs[key] = append(runs[key], sample{u.Wall, u.CPU + cpu, load})
			}
		}
	}
	for _, name := range names {
		for _, r := range repos {
			key := r + ": " + name
			line := runs[key].line(key, size)
			if a, ok := alloc[key]; ok {
				line += fmt.Sprintf("  allocated %.0f MiB (data %.0f MiB)", float64(a)/(1<<20), float64(d.Data)/(1<<20))
			}
			fmt.Fprintln(report, line)
		}
		if len(repos) == 2 {
			s3, local := runs["s3: "+name].median(), runs["local: "+name].median()
			fmt.Fprintf(report, "%-44s %.2f of local (median wall)\n", "s3 / local", local.wall.Seconds()/s3.wall.Seconds())
		}
	}
}

// checkRaw compares a restored raw disk with the source's SHA-256.
func checkRaw(path, want string, size int64) error {
	got, n, err := sha256File(path)
	if err != nil {
		return err
	}
	if got != want || n != size {
		return fmt.Errorf("%s: %d bytes, differs from the disk backed up", path, n)
	}
	return nil
}

// discardGET restores a disk over HTTP into io.Discard and checks the
// length; CPU is the server's alone, added by the caller.
func discardGET(srv *restoreServer, snap, disk string, size int64) (usage, error) {
	tok, err := os.ReadFile(srv.tokFile())
	if err != nil {
		return usage{}, err
	}
	u := srv.url + "/api/v1/snapshots/" + url.PathEscape(snap) + "/disks/" + url.PathEscape(disk) + "?format=raw"
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return usage{}, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return usage{}, err
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(discardWriter{}, resp.Body, make([]byte, 1<<20))
	wall := time.Since(start)
	if err == nil && (resp.StatusCode != http.StatusOK || n != size) {
		err = fmt.Errorf("GET %s: %s, %d bytes", u, resp.Status, n)
	}
	return usage{Wall: wall}, err
}

// discardWriter drops what it is given; it has no ReadFrom, so that
// io.CopyBuffer reads with the buffer it is given.
type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
