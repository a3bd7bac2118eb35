package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

// maintCall sends body (an apiv1 request, or nil for none) to an admin
// route and prints the answer as the server sent it.
func maintCall(cf clientFlags, method, path string, body any) int {
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var out json.RawMessage
	if body == nil {
		err = c.Do(ctx, method, path, strings.NewReader(""), 0, &out)
	} else {
		err = c.DoJSON(ctx, method, path, body, &out)
	}
	if err != nil {
		return fail(err)
	}
	os.Stdout.Write(out)
	return exitOK
}

func policyFlags(fs *flag.FlagSet) *apiv1.Policy {
	p := &apiv1.Policy{}
	fs.IntVar(&p.KeepLast, "keep-last", 0, "keep the N newest snapshots")
	fs.IntVar(&p.KeepHourly, "keep-hourly", 0, "keep the newest snapshot of each of the last N hours with snapshots")
	fs.IntVar(&p.KeepDaily, "keep-daily", 0, "... of the last N days")
	fs.IntVar(&p.KeepWeekly, "keep-weekly", 0, "... of the last N weeks")
	fs.IntVar(&p.KeepMonthly, "keep-monthly", 0, "... of the last N months")
	fs.IntVar(&p.KeepYearly, "keep-yearly", 0, "... of the last N years")
	fs.StringVar(&p.KeepWithin, "keep-within", "", "keep every snapshot within this duration of the newest (e.g. 720h)")
	fs.StringVar(&p.Match.Host, "match-host", "", "policy applies to hosts matching this glob")
	fs.StringVar(&p.Match.VM, "match-vm", "", "policy applies to VMs matching this glob")
	return p
}

// cmdForget: shadowvault forget [--host H] [--vm V] [--dry-run] [policy flags]
// With no policy flag, the stored policies apply.
func cmdForget(args []string) int {
	fs := flag.NewFlagSet("forget", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	host := fs.String("host", "", "only this host")
	vm := fs.String("vm", "", "only this VM")
	dry := fs.Bool("dry-run", false, "only list what would be kept and removed, with the reasons")
	p := policyFlags(fs)
	parseArgs(fs, args)
	req := apiv1.ForgetRequest{Host: *host, VM: *vm, DryRun: *dry}
	if *p != (apiv1.Policy{}) {
		req.Policy = p
	}
	return maintCall(cf, http.MethodPost, "/api/v1/forget", req)
}

func cmdPrune(args []string) int {
	fs := flag.NewFlagSet("prune", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	below := fs.Float64("repack-below", 0.7, "rewrite packs whose live share is under this")
	grace := fs.String("grace", "1h", "never touch packs younger than this")
	parseArgs(fs, args)
	return maintCall(cf, http.MethodPost, "/api/v1/prune", apiv1.PruneRequest{RepackBelow: *below, Grace: *grace})
}

func cmdCheck(args []string) int {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	readData := fs.String("read-data", "0", "re-read and re-hash this share of the packs: N% or 'all'")
	parseArgs(fs, args)
	pct := 0
	switch v := strings.TrimSuffix(*readData, "%"); v {
	case "all", "true":
		pct = 100
	default:
		if _, err := fmt.Sscan(v, &pct); err != nil || pct < 0 || pct > 100 {
			fmt.Fprintln(os.Stderr, "check: --read-data wants N% (0-100) or all")
			return exitUsage
		}
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var res apiv1.CheckResponse
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/check", apiv1.CheckRequest{ReadDataPercent: pct}, &res); err != nil {
		return fail(err)
	}
	for _, p := range res.Problems {
		fmt.Println("problem:", p)
	}
	for _, d := range res.Damaged {
		fmt.Printf("damaged: snapshot %s disk %s: %s\n", d.Snapshot, d.Disk, d.Reason)
	}
	if !res.OK {
		return exitFailure
	}
	fmt.Println("repository is consistent")
	return exitOK
}

// cmdPolicy: shadowvault policy set NAME [policy flags] | list | delete NAME
func cmdPolicy(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: shadowvault policy set NAME [--keep-daily N ...] | list | delete NAME")
		return exitUsage
	}
	fs := flag.NewFlagSet("policy "+args[0], flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	p := policyFlags(fs)
	pos := parseArgs(fs, args[1:])
	switch {
	case args[0] == "list":
		return maintCall(cf, http.MethodGet, "/api/v1/policies", nil)
	case args[0] == "set" && len(pos) == 1:
		return maintCall(cf, http.MethodPut, "/api/v1/policies/"+url.PathEscape(pos[0]), p)
	case args[0] == "delete" && len(pos) == 1:
		return maintCall(cf, http.MethodDelete, "/api/v1/policies/"+url.PathEscape(pos[0]), nil)
	}
	fmt.Fprintln(os.Stderr, "usage: shadowvault policy set NAME [--keep-daily N ...] | list | delete NAME")
	return exitUsage
}

// cmdProtect: shadowvault protect SNAPSHOT [--off]
func cmdProtect(args []string) int {
	fs := flag.NewFlagSet("protect", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	off := fs.Bool("off", false, "lift the protection")
	pos := parseArgs(fs, args)
	if len(pos) != 1 {
		fmt.Fprintln(os.Stderr, "usage: shadowvault protect SNAPSHOT [--off]")
		return exitUsage
	}
	return maintCall(cf, http.MethodPut, "/api/v1/snapshots/"+url.PathEscape(pos[0])+"/protected", !*off)
}
