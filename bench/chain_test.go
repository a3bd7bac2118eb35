//go:build linux

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestIncrementalChain measures an incremental-forever chain: a generated
// raw disk (SHADOWVAULT_BENCH_CHAIN_MIB, default 384: three quarters
// random data, the rest zeros) backed up in full, then on each of
// SHADOWVAULT_BENCH_CHAIN_DAYS (default 30) days with 2% of it rewritten
// at random places and backed up with --incremental --changed-ranges. It
// compares the restore of the last incremental with that of a full
// backup of the same content into a fresh repository, forgets all but
// the last snapshot, prunes, and restores the last again. It runs with
// SHADOWVAULT_BENCH_COMPARE=1 or SHADOWVAULT_BENCH_CHAIN=1 (`make bench`).
func TestIncrementalChain(t *testing.T) {
	if os.Getenv("SHADOWVAULT_BENCH_COMPARE") == "" && os.Getenv("SHADOWVAULT_BENCH_CHAIN") == "" {
		t.Skip("the chain runs with SHADOWVAULT_BENCH_COMPARE=1 or SHADOWVAULT_BENCH_CHAIN=1 (make bench)")
	}
	size := int64(envInt("SHADOWVAULT_BENCH_CHAIN_MIB", 384)) << 20
	days := envInt("SHADOWVAULT_BENCH_CHAIN_DAYS", 30)
	const changePercent, restoreRuns = 2, 5
	start, load0 := time.Now(), loadAvg()
	work := t.TempDir()
	bin := buildBinary(t, work)
	disk := filepath.Join(work, "disk.raw")
	if err := writeChainDisk(disk, size); err != nil {
		t.Fatal(err)
	}
	chain := &svServer{bin: bin, dir: filepath.Join(work, "chain")}
	if err := chain.start(); err != nil {
		t.Fatal(err)
	}
	defer chain.stop()
	backup := func(v *svServer, args ...string) (svReceipt, usage) {
		t.Helper()
		u, out, err := runTool(exec.Command(bin, v.args("backup", append([]string{"--host", "HV01", "--vm", "CHAIN"}, append(args, disk)...)...)...))
		var rc svReceipt
		if err == nil {
			err = json.Unmarshal(out, &rc)
		}
		if err != nil || len(rc.Disks) != 1 {
			t.Fatalf("backup %v: %v (%d disks)", args, err, len(rc.Disks))
		}
		return rc, u
	}
	backup(chain)
	storedFull := dirBytes(chain.dir)

	rng := rand.New(rand.NewPCG(30, 0xc4a1))
	var changed, sent, newBytes int64
	var incWall time.Duration
	var last svReceipt
	for day := 1; day <= days; day++ {
		cs, err := changeDisk(disk, size, changePercent, rng)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(work, fmt.Sprintf("day%02d.json", day))
		if err := writeChanges(f, cs); err != nil {
			t.Fatal(err)
		}
		var u usage
		last, u = backup(chain, "--incremental", "--changed-ranges", f)
		d := last.Disks[0]
		if d.Base == "" || d.ChangedBytes != changesBytes(cs) {
			t.Fatalf("day %d: receipt %+v, %d bytes changed", day, d, changesBytes(cs))
		}
		changed, sent, newBytes, incWall = changed+d.ChangedBytes, sent+d.StreamBytes, newBytes+d.NewBytes, incWall+u.Wall
	}
	storedChain := dirBytes(chain.dir)
	want, _, err := sha256File(disk)
	if err != nil {
		t.Fatal(err)
	}
	restoreMBps := func(v *svServer, snap string) float64 {
		t.Helper()
		out := filepath.Join(work, "restored.raw")
		os.Remove(out)
		defer os.Remove(out)
		u, _, err := runTool(exec.Command(bin, v.args("restore", "--format", "raw", "-o", out, snap, filepath.Base(disk))...))
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := sha256File(out)
		if err != nil || got != want {
			t.Fatalf("restore of %s: %v, not the disk's content", snap, err)
		}
		return float64(n) / 1e6 / u.Wall.Seconds()
	}

	// The same content backed up in full into a fresh repository. Both
	// servers finish their background digests first; then the restores
	// alternate, so that both see the same load.
	full := &svServer{bin: bin, dir: filepath.Join(work, "full")}
	if err := full.start(); err != nil {
		t.Fatal(err)
	}
	defer full.stop()
	fullRc, _ := backup(full)
	for _, w := range []struct {
		v  *svServer
		rc svReceipt
	}{{chain, last}, {full, fullRc}} {
		if err := w.v.waitDigests([]diskRef{{w.rc.Snapshot, w.rc.Disks[0].Name}}, digestTimeout); err != nil {
			t.Fatal(err)
		}
	}
	var incSpeeds, fullSpeeds []float64
	for i := 0; i < restoreRuns; i++ {
		incSpeeds = append(incSpeeds, restoreMBps(chain, last.Snapshot))
		fullSpeeds = append(fullSpeeds, restoreMBps(full, fullRc.Snapshot))
	}
	incMBps, fullMBps := median(incSpeeds), median(fullSpeeds)
	spread := func(v []float64) string { return fmt.Sprintf("%.0f-%.0f", slices.Min(v), slices.Max(v)) }
	full.stop()
	storedFresh := dirBytes(full.dir)

	// Forget all but the last snapshot, then prune twice: packs and
	// disk maps no snapshot references go at once with a grace of 1ns;
	// orphans are deleted once seen so for the grace, by the second.
	var fr struct{ Remove []struct{ Snapshot string } }
	if _, out, err := runTool(exec.Command(bin, chain.args("forget", "--json", "--host", "HV01", "--vm", "CHAIN", "--keep-last", "1")...)); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(out, &fr); err != nil || len(fr.Remove) != days || slices.ContainsFunc(fr.Remove, func(d struct{ Snapshot string }) bool { return d.Snapshot == last.Snapshot }) {
		t.Fatalf("forget: %v, removed %d of %d snapshots\n%s", err, len(fr.Remove), days+1, out)
	}
	var freed int64
	var pruneWall time.Duration
	for i := 0; i < 2; i++ {
		var pr struct {
			BytesFreed int64 `json:"bytes_freed"`
		}
		u, out, err := runTool(exec.Command(bin, chain.args("prune", "--json", "--grace", "1ns")...))
		if err == nil {
			err = json.Unmarshal(out, &pr)
		}
		if err != nil {
			t.Fatalf("prune: %v\n%s", err, out)
		}
		freed, pruneWall = freed+pr.BytesFreed, pruneWall+u.Wall
	}
	var afterSpeeds []float64
	for i := 0; i < restoreRuns; i++ {
		afterSpeeds = append(afterSpeeds, restoreMBps(chain, last.Snapshot))
	}
	afterMBps := median(afterSpeeds)
	if _, out, err := runTool(exec.Command(bin, chain.args("check", "--read-data", "all")...)); err != nil {
		t.Fatalf("check after prune: %v\n%s", err, out)
	}
	chain.stop()
	storedAfter := dirBytes(chain.dir)

	mb := func(n int64) float64 { return float64(n) / 1e6 }
	var b []byte
	b = fmt.Appendf(b, "# shadowvault incremental-forever chain, %s\n\n", time.Now().Format("2006-01-02 15:04"))
	b = fmt.Appendf(b, "Code: %s. Machine: %d cores (%s), %s. Load average before/after: %s / %s. Run took %s.\n\n",
		toolVersion("git", "describe", "--always", "--dirty"), runtime.NumCPU(), cpuModel(), runtime.Version(), load0, loadAvg(), time.Since(start).Round(time.Second))
	b = fmt.Appendf(b, "Disk: a raw image of %d MiB (three quarters random data, the rest zeros), backed up in full, then on %d days with %d%% of it rewritten with random data at random 4 KiB-aligned places (4..256 KiB each) and backed up with `--incremental --changed-ranges` (the exact ranges).\n\n",
		size>>20, days, changePercent)
	b = fmt.Appendf(b, "| measure | value |\n|---|---|\n")
	b = fmt.Appendf(b, "| changed per day (mean) | %.2f MB |\n| sent per day (mean; receipts' stream_bytes) | %.2f MB (%.3f x changed) |\n| new chunk bytes per day (mean; receipts' new_bytes) | %.2f MB |\n| incremental backup wall time (mean) | %.2f s |\n",
		mb(changed)/float64(days), mb(sent)/float64(days), float64(sent)/float64(changed), mb(newBytes)/float64(days), incWall.Seconds()/float64(days))
	b = fmt.Appendf(b, "| repository after the full / after day %d | %.1f MB / %.1f MB |\n", days, mb(storedFull), mb(storedChain))
	b = fmt.Appendf(b, "| restore of day %d (raw, median of %d; range) | %.0f MB/s (%s) |\n| restore of a full backup of the same content, fresh repository | %.0f MB/s (%s) |\n| ratio incremental / full | %.2fx |\n",
		days, restoreRuns, incMBps, spread(incSpeeds), fullMBps, spread(fullSpeeds), incMBps/fullMBps)
	b = fmt.Appendf(b, "| forget the first %d snapshots (the full and days 1..%d), prune --grace 1ns twice | %.1f MB freed (prunes' bytes_freed), %.1f s |\n", days, days-1, mb(freed), pruneWall.Seconds())
	b = fmt.Appendf(b, "| repository after the prune / fresh repository with the full backup alone | %.1f MB / %.1f MB |\n", mb(storedAfter), mb(storedFresh))
	b = fmt.Appendf(b, "| restore of day %d after the prune (median of %d) | %.0f MB/s (%s), byte-identical, `check --read-data all` ok |\n", days, restoreRuns, afterMBps, spread(afterSpeeds))
	b = fmt.Appendf(b, "\nMethod: one server process for the chain, another on a fresh repository for the full backup; both with their defaults (block digests computed in the background). Restores: `shadowvault restore --format raw -o FILE` (the CLI fsyncs the output), from the page cache, each checked against the disk's SHA-256; MB/s is the disk's bytes / wall seconds, the median of %d; the restores of the chain and of the full backup alternate, after both servers computed their block digests. Repository bytes: every file of repo/ and state/ (packs, manifests, disk maps, block digests, the bbolt index). Prune keeps packs younger than its grace window (default 1h): the bench passes `--grace 1ns`, and runs it twice because orphans are deleted only once seen so for the grace.\n", restoreRuns)
	fmt.Println(string(b))
	saveResult(t, fmt.Sprintf("%s-%dcores-chain", time.Now().Format("2006-01-02"), runtime.NumCPU()), string(b))
}

// writeChainDisk writes a raw disk of size bytes: three quarters
// incompressible random data, then zeros (a hole).
func writeChainDisk(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, Incompressible(42, size/4*3)); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// changeDisk rewrites percent of the disk with random data, in extents of
// 4..256 KiB at random 4 KiB-aligned offsets, and returns the changed
// ranges, sorted and merged.
func changeDisk(path string, size int64, percent int, rng *rand.Rand) ([]change, error) {
	const page = 4 << 10
	pages := size / page
	dirty := make([]bool, pages)
	var n int64
	for n*100 < pages*int64(percent) {
		first, count := rng.Int64N(pages), 1+rng.Int64N(64)
		for p := first; p < min(first+count, pages); p++ {
			if !dirty[p] {
				dirty[p], n = true, n+1
			}
		}
	}
	var cs []change
	for p := int64(0); p < pages; p++ {
		if !dirty[p] {
			continue
		}
		if k := len(cs); k > 0 && cs[k-1].Offset+cs[k-1].Length == p*page {
			cs[k-1].Length += page
		} else {
			cs = append(cs, change{p * page, page})
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	src := rand.NewChaCha8(seed)
	for _, c := range cs {
		buf := make([]byte, c.Length)
		src.Read(buf)
		if _, err := f.WriteAt(buf, c.Offset); err != nil {
			f.Close()
			return nil, err
		}
	}
	return cs, f.Close()
}
