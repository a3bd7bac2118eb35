package main

import (
	"encoding/json"
	"flag"
	"net/http"

	"github.com/shadowvault/shadowvault/apiv1"
)

var statsCmd = command{
	name:    "stats",
	summary: "show the repository's totals: snapshots, logical and stored bytes, dedup ratio, chunks, packs",
	about: `Logical bytes are the virtual sizes of every snapshot's disks, streamed
bytes what the agents sent, stored bytes the packs on the backend; the
dedup ratio is logical per stored byte. Needs an admin token.
`,
}

type adminOpts struct {
	cf   clientFlags
	json bool
}

func statsFlags() (*flag.FlagSet, *adminOpts) { return adminFlags(&statsCmd) }

func adminFlags(cmd *command) (*flag.FlagSet, *adminOpts) {
	fs := cmd.flagSet()
	o := &adminOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

// get fetches an admin route for a verb without arguments: the raw
// answer, or the exit code of a failure.
func (o *adminOpts) get(fs *flag.FlagSet, args []string, path string) (json.RawMessage, int) {
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return nil, fail(usageErrorf("%s takes no arguments", fs.Name()))
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return nil, fail(err)
	}
	defer stop()
	var raw json.RawMessage
	if err := c.Do(ctx, http.MethodGet, path, nil, 0, &raw); err != nil {
		return nil, fail(err)
	}
	return raw, exitOK
}

func cmdStats(args []string) int {
	fs, o := statsFlags()
	raw, code := o.get(fs, args, "/api/v1/stats")
	if code != exitOK || o.json {
		return orPrint(code, raw)
	}
	var s apiv1.Stats
	if err := json.Unmarshal(raw, &s); err != nil {
		return fail(err)
	}
	t := newTable()
	t.row("snapshots\t%d", s.Snapshots)
	t.row("sessions open\t%d", s.SessionsOpen)
	t.row("logical\t%s", humanBytes(s.LogicalBytes))
	t.row("streamed\t%s", humanBytes(s.StreamBytes))
	t.row("stored\t%s", humanBytes(s.StoredBytes))
	t.row("dedup ratio\t%.2f", s.DedupRatio)
	t.row("chunks\t%d", s.Chunks)
	t.row("packs\t%d", s.Packs)
	t.end()
	return exitOK
}

// orPrint prints raw as JSON after a success, or returns the failure.
func orPrint(code int, raw json.RawMessage) int {
	if code != exitOK {
		return code
	}
	return printJSON(raw)
}
