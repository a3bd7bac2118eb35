package main

import (
	"flag"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

var repairVersionsCmd = command{
	name:    "repair versions",
	summary: "after an attack on an S3 Object Lock bucket: give what the catalogue needs its locked versions back",
	about: `Asks the server (admin token) to make the first stored version of every
pack the index lists, of each listed snapshot's manifest, disk maps and
writer metadata, and of the config, current again where someone with the
bucket's credentials hid it behind a delete marker or wrote over it. Key
slots come back only when none is left in sight. Pruned packs and forgotten
snapshots stay removed. Run ` + "`shadowvault check --read-data 100`" + ` afterwards.
`,
}

type repairVersionsOpts struct {
	cf   clientFlags
	json bool
}

func repairVersionsFlags() (*flag.FlagSet, *repairVersionsOpts) {
	fs := repairVersionsCmd.flagSet()
	o := &repairVersionsOpts{}
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	o.cf.register(fs)
	return fs, o
}

// cmdRepairVersions runs `shadowvault repair versions`.
func cmdRepairVersions(args []string) int {
	fs, o := repairVersionsFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("repair versions takes no arguments"))
	}
	c, err := o.cf.client()
	if err != nil {
		return fail(err)
	}
	ctx, stop := signalContext()
	defer stop()
	var res apiv1.RevertResult
	if err := c.Do(ctx, http.MethodPost, "/api/v1/repair/versions", strings.NewReader(""), 0, &res); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(res)
	}
	types := make([]string, 0, len(res.Reverted))
	for t := range res.Reverted {
		types = append(types, t)
	}
	sort.Strings(types)
	total := 0
	for _, t := range types {
		fmt.Fprintf(stdout, "%-10s %d reverted\n", t, res.Reverted[t])
		total += res.Reverted[t]
	}
	fmt.Fprintf(stdout, "%d objects reverted in %.1fs; run `shadowvault check --read-data 100` next\n", total, res.Seconds)
	return exitOK
}
