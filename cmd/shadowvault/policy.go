package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

var (
	policyCmd = command{name: "policy", args: "set|list|delete", summary: "manage the stored retention policies"}

	policySetCmd = command{
		name:    "policy set",
		args:    "NAME",
		summary: "store a retention policy that forget and the scheduled prune apply",
		about: `NAME names the policy (setting it again replaces it). It applies to the
snapshots whose host and VM match --match-host and --match-vm (globs; empty
matches all). A snapshot is kept if any matching policy keeps it; snapshots
no policy matches are kept. The --keep-* rules are restic's.
`,
	}
	policyListCmd   = command{name: "policy list", summary: "list the stored retention policies"}
	policyDeleteCmd = command{name: "policy delete", args: "NAME", summary: "delete the retention policy NAME"}
)

type policyOpts struct {
	cf     clientFlags
	policy *apiv1.Policy
	json   bool
}

func policyFlags(fs *flag.FlagSet) *apiv1.Policy {
	p := &apiv1.Policy{}
	fs.IntVar(&p.KeepLast, "keep-last", 0, "keep the `N` newest snapshots")
	fs.IntVar(&p.KeepHourly, "keep-hourly", 0, "keep the newest snapshot of each of the last `N` hours with snapshots")
	fs.IntVar(&p.KeepDaily, "keep-daily", 0, "... of the last `N` days")
	fs.IntVar(&p.KeepWeekly, "keep-weekly", 0, "... of the last `N` weeks")
	fs.IntVar(&p.KeepMonthly, "keep-monthly", 0, "... of the last `N` months")
	fs.IntVar(&p.KeepYearly, "keep-yearly", 0, "... of the last `N` years")
	fs.StringVar(&p.KeepWithin, "keep-within", "", "keep every snapshot within this `DURATION` of the newest (e.g. 720h)")
	fs.StringVar(&p.Match.Host, "match-host", "", "the policy applies to hosts matching this `GLOB`")
	fs.StringVar(&p.Match.VM, "match-vm", "", "the policy applies to VMs matching this `GLOB`")
	return p
}

func policySetFlags() (*flag.FlagSet, *policyOpts) {
	fs := policySetCmd.flagSet()
	o := &policyOpts{}
	o.cf.register(fs)
	o.policy = policyFlags(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func policyListFlags() (*flag.FlagSet, *policyOpts) {
	fs := policyListCmd.flagSet()
	o := &policyOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func policyDeleteFlags() (*flag.FlagSet, *policyOpts) {
	fs := policyDeleteCmd.flagSet()
	o := &policyOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

// cmdPolicy: shadowvault policy set NAME [policy flags] | list | delete NAME
func cmdPolicy(args []string) int {
	sub, rest := subverb(args)
	var (
		fs     *flag.FlagSet
		o      *policyOpts
		cmd    *command
		method string
	)
	switch sub {
	case "set":
		fs, o = policySetFlags()
		cmd, method = &policySetCmd, http.MethodPut
	case "list":
		fs, o = policyListFlags()
		cmd, method = &policyListCmd, http.MethodGet
	case "delete":
		fs, o = policyDeleteFlags()
		cmd, method = &policyDeleteCmd, http.MethodDelete
	default:
		return groupUsage(&policyCmd, sub)
	}
	pos := parseArgs(fs, rest)
	nargs := len(strings.Fields(cmd.args))
	if len(pos) != nargs {
		return fail(usageErrorf("usage: shadowvault %s %s", cmd.name, cmd.args))
	}
	path, body := "/api/v1/policies", any(nil)
	if nargs == 1 {
		path += "/" + url.PathEscape(pos[0])
	}
	if sub == "set" {
		body = o.policy
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	raw, err := doRaw(ctx, c, method, path, body)
	if err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(raw)
	}
	switch sub {
	case "set":
		var np apiv1.NamedPolicy
		_ = json.Unmarshal(raw, &np)
		printf("policy %s set: %s", np.Name, policyRules(np.Policy))
	case "delete":
		printf("policy %s deleted", pos[0])
	default:
		var pl apiv1.PolicyList
		if err := json.Unmarshal(raw, &pl); err != nil {
			return fail(err)
		}
		names := make([]string, 0, len(pl.Policies))
		for n := range pl.Policies {
			names = append(names, n)
		}
		slices.Sort(names)
		t := newTable("NAME", "HOSTS", "VMS", "RULES")
		for _, n := range names {
			p := pl.Policies[n]
			t.row("%s\t%s\t%s\t%s", n, firstSet(p.Match.Host, "*"), firstSet(p.Match.VM, "*"), policyRules(p))
		}
		t.end()
	}
	return exitOK
}

// policyRules says what a policy keeps, as the flags that set it.
func policyRules(p apiv1.Policy) string {
	var r []string
	for _, k := range []struct {
		name string
		n    int
	}{{"keep-last", p.KeepLast}, {"keep-hourly", p.KeepHourly}, {"keep-daily", p.KeepDaily},
		{"keep-weekly", p.KeepWeekly}, {"keep-monthly", p.KeepMonthly}, {"keep-yearly", p.KeepYearly}} {
		if k.n != 0 {
			r = append(r, fmt.Sprintf("--%s %d", k.name, k.n))
		}
	}
	if p.KeepWithin != "" {
		r = append(r, "--keep-within "+p.KeepWithin)
	}
	if len(r) == 0 {
		return "(keeps nothing)"
	}
	return strings.Join(r, " ")
}
