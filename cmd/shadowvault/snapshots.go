package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

var snapshotsCmd = command{
	name:    "snapshots",
	summary: "list the snapshots, oldest first",
	about: `Each snapshot shows its ID as the shortest prefix of at least 8 characters
that no other snapshot shares (any command taking a SNAPSHOT accepts it),
its time (local), host, VM, backup type, consistency, whether it is
protected from retention, its size (the disks' virtual sizes), what it
added to the repository (the stored bytes of its new chunks), and its
disks. An agent token lists its own host's snapshots only. --json prints
the server's answer, with full IDs.
`,
}

type snapshotsOpts struct {
	cf       clientFlags
	host, vm string
	json     bool
}

func snapshotsFlags() (*flag.FlagSet, *snapshotsOpts) {
	fs := snapshotsCmd.flagSet()
	o := &snapshotsOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.host, "host", "", "only this `HOST`")
	fs.StringVar(&o.vm, "vm", "", "only this `VM`")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func cmdSnapshots(args []string) int {
	fs, o := snapshotsFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("snapshots takes no arguments (--host and --vm filter)"))
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	if o.json {
		var raw json.RawMessage
		if err := c.Do(ctx, http.MethodGet, "/api/v1/snapshots?host="+urlQuery(o.host)+"&vm="+urlQuery(o.vm), nil, 0, &raw); err != nil {
			return fail(err)
		}
		return printJSON(raw)
	}
	list, err := listSnapshots(ctx, c, o.host, o.vm)
	if err != nil {
		return fail(err)
	}
	// Prefixes must be unique among every snapshot a SNAPSHOT argument
	// may name, not only those shown.
	all := list
	if o.host != "" || o.vm != "" {
		if all, err = listSnapshots(ctx, c, "", ""); err != nil {
			return fail(err)
		}
	}
	printSnapshots(list, all)
	return exitOK
}

// printSnapshots prints the table of list, with IDs as short as all
// allows.
func printSnapshots(list, all []apiv1.SnapshotSummary) {
	ids := make([]string, 0, len(all))
	for _, s := range all {
		ids = append(ids, s.ID)
	}
	short := shortIDs(ids, shortIDLen)
	t := newTable("ID", "TIME", "HOST", "VM", "TYPE", "CONSISTENCY", "PROTECTED", "SIZE", "ADDED", "DISKS")
	for _, s := range list {
		var names []string
		var added int64
		for _, d := range s.Disks {
			names = append(names, d.Name+" ("+d.Format.String()+")")
			added += d.StoredBytes
		}
		id := short[s.ID]
		if id == "" {
			id = s.ID
		}
		prot := "-"
		if s.Protected {
			prot = "yes"
		}
		t.row("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", id, localTime(s.Time), s.Host, s.VM, s.BackupType, s.Consistency,
			prot, humanBytes(s.LogicalBytes), humanBytes(added), strings.Join(names, ", "))
	}
	t.end()
	switch len(list) {
	case 1:
		printf("1 snapshot")
	default:
		printf("%d snapshots", len(list))
	}
}
