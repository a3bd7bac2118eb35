package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

var forgetCmd = command{
	name:    "forget",
	args:    "[SNAPSHOT...]",
	summary: "remove snapshots: by the retention policies, or the SNAPSHOTs named",
	about: `Without SNAPSHOT the policy flags (--keep-*) apply, or, with none, the stored
policies (see policy set); --host and --vm limit which snapshots are
considered. Each snapshot is listed as kept (and by which rule) or removed.
Policies follow restic's forget; protected snapshots are always kept.

With SNAPSHOTs, those snapshots are removed (a protected one is refused).
` + snapshotHelp + `
--dry-run only says what would be removed. The data goes with the next
prune.
`,
}

type forgetOpts struct {
	cf           clientFlags
	host, vm     string
	dryRun, json bool
	policy       *apiv1.Policy
}

func forgetFlags() (*flag.FlagSet, *forgetOpts) {
	fs := forgetCmd.flagSet()
	o := &forgetOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.host, "host", "", "only snapshots of this `HOST`")
	fs.StringVar(&o.vm, "vm", "", "only snapshots of this `VM`")
	fs.BoolVar(&o.dryRun, "dry-run", false, "only say what would be kept and removed, with the reasons")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	o.policy = policyFlags(fs)
	return fs, o
}

func cmdForget(args []string) int {
	fs, o := forgetFlags()
	snaps := parseArgs(fs, args)
	hasPolicy := *o.policy != (apiv1.Policy{})
	if len(snaps) > 0 {
		if hasPolicy {
			return fail(usageErrorf("forget: give SNAPSHOTs or policy flags, not both"))
		}
		return forgetSnapshots(o, snaps)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	req := apiv1.ForgetRequest{Host: o.host, VM: o.vm, DryRun: o.dryRun}
	if hasPolicy {
		req.Policy = o.policy
	}
	var raw json.RawMessage
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/forget", req, &raw); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(raw)
	}
	var res apiv1.ForgetResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fail(err)
	}
	printDecisions(res)
	return exitOK
}

// printDecisions prints a forget's decisions, the newest last.
func printDecisions(res apiv1.ForgetResult) {
	var ids []string
	for _, d := range append(append([]apiv1.Decision(nil), res.Keep...), res.Remove...) {
		ids = append(ids, d.Snapshot)
	}
	short := shortIDs(ids, shortIDLen)
	remove := "remove"
	if res.DryRun {
		remove = "would remove"
	}
	t := newTable("ACTION", "ID", "TIME", "HOST", "VM", "REASONS")
	for _, d := range res.Keep {
		t.row("%s\t%s\t%s\t%s\t%s\t%s", "keep", short[d.Snapshot], localTime(d.Time), d.Host, d.VM, orDash(strings.Join(d.Reasons, "; ")))
	}
	for _, d := range res.Remove {
		t.row("%s\t%s\t%s\t%s\t%s\t%s", remove, short[d.Snapshot], localTime(d.Time), d.Host, d.VM, orDash(strings.Join(d.Reasons, "; ")))
	}
	t.end()
	if res.DryRun {
		printf("dry run: %d snapshots would be kept, %d removed", len(res.Keep), len(res.Remove))
	} else {
		printf("%d snapshots kept, %d removed", len(res.Keep), len(res.Remove))
	}
}

// forgetSnapshots removes the snapshots named (DELETE /api/v1/snapshots/{id}),
// all resolved first, so that a typo removes nothing.
func forgetSnapshots(o *forgetOpts, args []string) int {
	for _, a := range args {
		if err := checkSnapshotArg(a); err != nil {
			return fail(err)
		}
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var ids []string
	for _, a := range args {
		id, err := resolveSnapshot(ctx, c, a, o.host, o.vm)
		if err != nil {
			return fail(err)
		}
		ids = append(ids, id)
	}
	res := struct {
		Forgotten []apiv1.SnapshotForgotten `json:"forgotten"`
		DryRun    bool                      `json:"dry_run"`
	}{Forgotten: []apiv1.SnapshotForgotten{}, DryRun: o.dryRun}
	for _, id := range ids {
		done := apiv1.SnapshotForgotten{Snapshot: id}
		if !o.dryRun {
			if err := c.Do(ctx, http.MethodDelete, "/api/v1/snapshots/"+url.PathEscape(id), nil, 0, &done); err != nil {
				if o.json {
					printJSON(res)
				}
				return fail(err)
			}
		}
		res.Forgotten = append(res.Forgotten, done)
		if !o.json {
			if o.dryRun {
				printf("would remove snapshot %s", id)
			} else {
				printf("removed snapshot %s", id)
			}
		}
	}
	if o.json {
		return printJSON(res)
	}
	return exitOK
}
