package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

var pruneCmd = command{
	name:    "prune",
	summary: "delete the packs no snapshot uses, and rewrite mostly-empty ones",
	about: `Prune runs while backups run: chunks that sessions in flight depend on are
kept, and packs younger than --grace are not touched.
`,
}

var checkCmd = command{
	name:    "check",
	summary: "check the repository's structure, and re-hash a share of its packs (--read-data)",
	about: `Exits 0 when the repository is consistent, 1 when a problem was found
(each is printed, and the disks that would not restore in full).
`,
}

var protectCmd = command{
	name:    "protect",
	args:    "SNAPSHOT",
	summary: "protect a snapshot from every retention policy, or lift it (--off)",
	about:   snapshotHelp,
}

type maintOpts struct {
	cf              clientFlags
	json, off       bool
	repackBelow     float64
	grace, readData string
	host, vm        string
}

func pruneFlags() (*flag.FlagSet, *maintOpts) {
	fs := pruneCmd.flagSet()
	o := &maintOpts{}
	o.cf.register(fs)
	fs.Float64Var(&o.repackBelow, "repack-below", 0.7, "rewrite packs whose live share is under this `FRACTION` (0 to 1)")
	fs.StringVar(&o.grace, "grace", "1h", "never touch packs younger than this `DURATION`")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func checkFlags() (*flag.FlagSet, *maintOpts) {
	fs := checkCmd.flagSet()
	o := &maintOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.readData, "read-data", "0", "re-read and re-hash this share of the packs: `N%|all`")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func protectFlags() (*flag.FlagSet, *maintOpts) {
	fs := protectCmd.flagSet()
	o := &maintOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.off, "off", false, "lift the protection")
	fs.StringVar(&o.host, "host", "", "SNAPSHOT is of this `HOST` (for latest or a prefix)")
	fs.StringVar(&o.vm, "vm", "", "SNAPSHOT is of this `VM` (for latest or a prefix)")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func cmdPrune(args []string) int {
	fs, o := pruneFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("prune takes no arguments"))
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var raw json.RawMessage
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/prune", apiv1.PruneRequest{RepackBelow: o.repackBelow, Grace: o.grace}, &raw); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(raw)
	}
	var r apiv1.PruneResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return fail(err)
	}
	printPrune(r)
	return exitOK
}

func printPrune(r apiv1.PruneResult) {
	t := newTable()
	t.row("packs deleted\t%d", r.PacksDeleted)
	t.row("packs rewritten\t%d (into %d new)", r.PacksRewritten, r.PacksWritten)
	t.row("orphan packs deleted\t%d", r.OrphansDeleted)
	t.row("disk maps deleted\t%d", r.DiskMapsDeleted)
	t.row("chunks removed\t%d (%d live)", r.ChunksRemoved, r.LiveChunks)
	t.row("freed\t%s in %.1fs", humanBytes(r.BytesFreed), r.Seconds)
	t.end()
}

// readDataPercent parses --read-data: N%, N or all.
func readDataPercent(s string) (int, error) {
	switch v := strings.TrimSuffix(s, "%"); v {
	case "all", "true":
		return 100, nil
	default:
		pct, err := strconv.Atoi(v)
		if err != nil || pct < 0 || pct > 100 {
			return 0, usageErrorf("check: --read-data %q: want N%% (0-100) or all", s)
		}
		return pct, nil
	}
}

func cmdCheck(args []string) int {
	fs, o := checkFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("check takes no arguments"))
	}
	pct, err := readDataPercent(o.readData)
	if err != nil {
		return fail(err)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var raw json.RawMessage
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/check", apiv1.CheckRequest{ReadDataPercent: pct}, &raw); err != nil {
		return fail(err)
	}
	var res apiv1.CheckResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		return fail(err)
	}
	code := exitOK
	if !res.OK {
		code = exitFailure
	}
	if o.json {
		if c := printJSON(raw); c != exitOK {
			return c
		}
		return code
	}
	for _, p := range res.Problems {
		printf("problem: %s", p)
	}
	for _, d := range res.Damaged {
		printf("damaged: snapshot %s disk %s: %s", d.Snapshot, d.Disk, d.Reason)
	}
	printf("checked %d snapshots, %d disks, %d chunks in %d packs; data of %d packs read (%d%%)",
		res.Snapshots, res.Disks, res.Chunks, res.Packs, res.PacksRead, res.ReadDataPercent)
	if res.OK {
		printf("repository is consistent")
	} else {
		printf("repository has problems: %d found", max(len(res.Problems), 1))
	}
	return code
}

// cmdProtect: shadowvault protect SNAPSHOT [--off]
func cmdProtect(args []string) int {
	fs, o := protectFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 1 {
		return fail(usageErrorf("protect needs one SNAPSHOT"))
	}
	if err := checkSnapshotArg(pos[0]); err != nil {
		return fail(err)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	id, err := resolveSnapshot(ctx, c, pos[0], o.host, o.vm)
	if err != nil {
		return fail(err)
	}
	var res apiv1.SnapshotProtected
	if err := c.DoJSON(ctx, http.MethodPut, "/api/v1/snapshots/"+url.PathEscape(id)+"/protected", !o.off, &res); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(res)
	}
	state := "protected"
	if !res.Protected {
		state = "no longer protected"
	}
	printf("snapshot %s %s", id, state)
	return exitOK
}
