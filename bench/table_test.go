//go:build linux

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

var systemLabels = map[string]string{
	"sv-vhdx":         "shadowvault (VHDX)",
	"sv-vhdx-incr":    "shadowvault (VHDX, --incremental, block digests)",
	"sv-vhdx-ranges":  "shadowvault (VHDX, --incremental --changed-ranges)",
	"sv-vhd":          "shadowvault (VHD)",
	"sv-vhdx-nohints": "shadowvault (VHDX, --guest-hints=false)",
	"restic":          "restic 0.18.1 (VHDX)",
	"restic-0.14":     "restic 0.14 (VHDX)",
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

// sentCheck says whether every disk of an incremental step 3 went up in
// at most 1.2 x its changed bytes + 1 MiB, truth being VM 1's changed
// bytes ("-" for full backups).
func sentCheck(rs []*runResult, vm1 string, truth int64) string {
	for _, r := range rs {
		if !r.Phase[2].Incr {
			return "-"
		}
		for name, sent := range r.Phase[2].SentByDisk {
			var changed int64
			if strings.HasPrefix(name, vm1+".") {
				changed = truth
			}
			if float64(sent) > 1.2*float64(changed)+(1<<20) {
				return "NO"
			}
		}
	}
	return "ok"
}

func renderTable(c *Corpus, truth []change, names []string, results map[string][]*runResult, reps int, load0, load1 string, took time.Duration) string {
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
	changed := changesBytes(truth)
	fmt.Fprintf(&b, "# shadowvault vs restic vs borg, %s\n\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Code: %s. Machine: %d cores (%s), %s; %s; %s; %s. Load average before/after: %s / %s. Run took %s.\n\n",
		toolVersion("git", "describe", "--always", "--dirty"), runtime.NumCPU(), cpuModel(), runtime.Version(),
		toolVersion(resticBinary(), "version"), toolVersion("restic", "version"), toolVersion("borg", "--version"), load0, load1, took.Round(time.Second))
	fmt.Fprintf(&b, "Corpus: %d VMs, each an MBR disk of %d MiB with one NTFS partition holding the same %d files (%.1f MB: one in %d of the files of 16 KiB..16 MiB under %s, by sorted path) in a different order, plus %d MiB of unique random data; dynamic VHD and VHDX by qemu-img. Changed step: VM 1 with %d files (%d%%) modified in place (%d KiB of new bytes); its virtual content differs from the previous image in %d ranges, %d KiB (compared by 4 KiB page). Input of each backup: %.1f MB of VHDX or %.1f MB of VHD files.\n\n",
		p.VMs, p.DiskMiB, c.SharedFiles, float64(c.SharedBytes)/1e6, p.Every, strings.Join(p.Roots, ","), p.UniqueMiB, c.ChangedFiles, p.ChangePercent, c.ChangedBytes>>10,
		len(truth), changed>>10, float64(inVHDX)/1e6, float64(inVHD)/1e6)
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
	sentCell := func(name string, k int, div float64) string {
		rs := results[name]
		if rs[0].Phase[k].SentByDisk == nil {
			return "-"
		}
		m, _, _ := stat(rs, func(r *runResult) float64 { return float64(r.Phase[k].Sent) })
		return fmt.Sprintf("%.2f", m/div)
	}
	steps := []string{"1. First backup of all VMs", "2. Second backup, disks unchanged (mtime touched)", "3. Second backup after VM 1 changed"}
	for k, title := range steps {
		fmt.Fprintf(&b, "### %s\n\n", title)
		switch k {
		case 0:
			b.WriteString("| system | MB/s | vs restic | CPU s | vs restic | peak RSS MiB | vs restic | stored MB (stored / input) | sent MB |\n|---|---|---|---|---|---|---|---|---|\n")
		case 1:
			b.WriteString("| system | MB/s | vs restic | CPU s | vs restic | peak RSS MiB | vs restic | repository growth MB | vs restic | sent MB |\n|---|---|---|---|---|---|---|---|---|---|\n")
		case 2:
			fmt.Fprintf(&b, "Changed: %.2f MB of virtual content (%d ranges), all on VM 1's disk. \"changed MB\" is what the receipts report (the ranges given, or the blocks the digests found differing); the check (incremental backups) is sent <= 1.2 x changed + 1 MiB for each disk, changed being the virtual content that differs; \"new MB\" is the receipts' new_bytes (chunk bytes the repository did not hold).\n\n", float64(changed)/1e6, len(truth))
			b.WriteString("| system | MB/s | vs restic | CPU s | vs restic | peak RSS MiB | vs restic | repository growth MB | vs restic | sent MB | changed MB | sent / changed | check | new MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		}
		for _, name := range names {
			rs := results[name]
			tp := func(r *runResult) float64 { return r.Phase[k].mbps() }
			cpu := func(r *runResult) float64 { return r.Phase[k].CPU.Seconds() }
			rss := func(r *runResult) float64 { return float64(r.Phase[k].rss()) }
			cpuM, _, _ := stat(rs, cpu)
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %s | %s | %s |", systemLabels[name], mbps(name, tp), ratio(name, tp),
				cpuM, ratio(name, cpu), rssCell(name, k), ratio(name, rss))
			if k == 0 {
				m, _, _ := stat(rs, func(r *runResult) float64 { return r.StoredRatio })
				st, _, _ := stat(rs, func(r *runResult) float64 { return float64(r.Stored[0]) })
				fmt.Fprintf(&b, " %.1f (%.3f) | %s |\n", st/1e6, m, sentCell(name, k, 1e6))
				continue
			}
			growth := func(r *runResult) float64 { return float64(r.Stored[k] - r.Stored[k-1]) }
			g, _, _ := stat(rs, growth)
			fmt.Fprintf(&b, " %.2f | %s | %s |", g/1e6, ratio(name, growth), sentCell(name, k, 1e6))
			if k == 2 {
				ch, nw := "-", "-"
				if rs[0].Phase[k].Incr {
					m, _, _ := stat(rs, func(r *runResult) float64 { return float64(r.Phase[k].Changed) })
					ch = fmt.Sprintf("%.2f", m/1e6)
				}
				if rs[0].Phase[k].SentByDisk != nil {
					n, _, _ := stat(rs, func(r *runResult) float64 { return float64(r.Phase[k].New) })
					nw = fmt.Sprintf("%.2f", n/1e6)
				}
				fmt.Fprintf(&b, " %s | %s | %s | %s |", ch, sentCell(name, k, float64(changed)), sentCheck(rs, c.VMs[0].Name, changed), nw)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "### 4. Full restore of VM 1's disk (latest backup)\n\n")
	fmt.Fprintf(&b, "| system | MB/s | vs restic | CPU s | peak RSS MiB | output MB | wall s | identical |\n|---|---|---|---|---|---|---|---|\n")
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
		wall, _, _ := stat(rs, func(r *runResult) float64 { return r.Phase[3].Wall.Seconds() })
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %s | %.1f | %.2f | %s |\n", systemLabels[name], mbps(name, tp), ratio(name, tp), cpuM, rssCell(name, 3), float64(rs[0].Phase[3].Input)/1e6, wall, ident)
	}
	renderDigests(&b, names, results)
	b.WriteString(methodText)
	return b.String()
}

// renderDigests lists the wait for the block digests after each step.
func renderDigests(b *strings.Builder, names []string, results map[string][]*runResult) {
	b.WriteString("\n### Block digests after each backup step (outside the timed part)\n\n| system | step 1: wait s / server CPU s | step 2 | step 3 |\n|---|---|---|---|\n")
	for _, name := range names {
		rs := results[name]
		if rs[0].Phase[0].SentByDisk == nil {
			continue
		}
		fmt.Fprintf(b, "| %s |", systemLabels[name])
		for k := 0; k < 3; k++ {
			w, _, _ := stat(rs, func(r *runResult) float64 { return r.Phase[k].DigestWait.Seconds() })
			c, _, _ := stat(rs, func(r *runResult) float64 { return r.Phase[k].DigestCPU.Seconds() })
			fmt.Fprintf(b, " %.1f / %.1f |", w, c)
		}
		b.WriteString("\n")
	}
}

var methodText = `
Method: every system runs on the same image files (hard links in one folder, touched before each
re-backup as a running VM's files are), from the page cache; ` + "`sync`" + ` runs between steps. MB/s is
input bytes (the image files' sizes) / wall seconds; for the restore, the restored file's bytes / wall
seconds. CPU is user+sys of every process (shadowvault: the server, started afresh for each step, until
the last backup of the step returned, plus the backup CLI processes). Peak RSS: the largest VmHWM of the
processes (shadowvault: the server, started afresh for each step, and the CLI separately; "vs restic" uses
the larger). Stored bytes: every file of the repository (shadowvault: packs, manifests, disk maps, block
digests and the bbolt index). "vs restic" compares with restic 0.18.1. shadowvault: one ` + "`shadowvault backup`" + `
process per VM (CLI defaults: guest hints on)` + fmt.Sprintf(" (%d at a time; 0: all)", svParallel()) + `; the server runs with its defaults, so
it computes the block digests of each new snapshot disk in the background right after the backup. After
each backup step, outside the timed part and before the server is stopped (SIGTERM), the harness polls
` + "`GET /api/v1/snapshots/{id}/disks/{name}/digests`" + ` with the admin token until every new disk's digests are
served, so that the next step finds them as after a nightly backup; the wait and the server's CPU meanwhile
are in the last table. sent MB: the receipts' stream_bytes (the bytes of the request bodies). The
incremental systems back up steps 2 and 3 with ` + "`--incremental`" + ` over the newest snapshot of the VM:
"block digests" lets the agent compare the base's stored block digests (1 MiB) with its own disk's, narrow
each differing block down with the server's 64 KiB digests of the base, and send the blocks that differ; "--changed-ranges" gives it a file per VM, ` + "`[]`" + ` for an unchanged disk and, for VM 1 in
step 3, the ranges where the virtual content of the new image differs from the previous one (the harness
compares the two images by 4 KiB page before the step, adjacent pages merged). Their disks after the first
step are stored as virtual content, so their restore is ` + "`--format vhdx`" + ` (a new dynamic VHDX, of 32 MiB
blocks: a larger file than qemu-img's, see output MB; compare wall seconds) and "identical" compares the
virtual content; the other shadowvault restores are ` + "`--format original`" + `
(byte-identical files; the CLI fsyncs the output). restic 0.18.1 (built by scripts/ensure-restic.sh) and
restic 0.14 (Debian): ` + "`restic backup`" + ` of the three files, default compression (auto), password from
RESTIC_PASSWORD, ` + "`restic restore latest --include`" + `. borg: ` + "`borg init -e none`" + `, ` + "`borg create`" + ` with
default lz4, ` + "`borg extract`" + `.
`
