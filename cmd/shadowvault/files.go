package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

// cmdLs lists a directory inside a snapshot disk's NTFS volume:
// shadowvault ls SNAPSHOT DISK [PATH] [--part N]
func cmdLs(args []string) int {
	fs := flag.NewFlagSet("ls", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	part := fs.Int("part", 0, "partition index (default: the first NTFS partition)")
	pos := parseArgs(fs, args)
	if len(pos) < 2 || len(pos) > 3 {
		fmt.Fprintln(os.Stderr, "usage: shadowvault ls SNAPSHOT DISK [PATH] [--part N]")
		return exitUsage
	}
	path := "/"
	if len(pos) == 3 {
		path = pos[2]
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	base, err := fsBase(ctx, c, pos[0], pos[1], *part)
	if err != nil {
		return fail(err)
	}
	var out apiv1.DirListing
	if err := c.Do(ctx, http.MethodGet, base+"/ls?path="+url.QueryEscape(path), nil, 0, &out); err != nil {
		return fail(err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	for _, e := range out.Entries {
		kind, size := "", humanBytes(e.Size)
		if e.Dir {
			kind, size = "/", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\n", e.MTime.Format("2006-01-02 15:04"), size, e.Name, kind)
	}
	tw.Flush()
	return exitOK
}

// cmdCat downloads one file from a snapshot disk's NTFS volume:
// shadowvault cat SNAPSHOT DISK PATH [--part N] [-o FILE]
func cmdCat(args []string) int {
	fs := flag.NewFlagSet("cat", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	part := fs.Int("part", 0, "partition index (default: the first NTFS partition)")
	out := fs.String("o", "", "write to this file (default: stdout); written beside it first, in place only once complete")
	force := fs.Bool("force", false, "replace the -o file if it exists")
	pos := parseArgs(fs, args)
	if len(pos) != 3 {
		fmt.Fprintln(os.Stderr, "usage: shadowvault cat SNAPSHOT DISK PATH [--part N] [-o FILE [--force]]")
		return exitUsage
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	o, err := openOutput(*out, *force)
	if err != nil {
		return failOutput(err)
	}
	defer o.abort()
	base, err := fsBase(ctx, c, pos[0], pos[1], *part)
	if err != nil {
		return fail(err)
	}
	if _, err = c.Cat(ctx, base+"/cat?path="+url.QueryEscape(pos[2]), o); err == nil {
		err = o.commit()
	}
	if err != nil {
		return failOutput(err)
	}
	return exitOK
}

// fsBase finds the API path of a partition, picking the first NTFS one
// when part is 0.
func fsBase(ctx context.Context, c *agent.Client, snap, disk string, part int) (string, error) {
	base := "/api/v1/snapshots/" + url.PathEscape(snap) + "/disks/" + url.PathEscape(disk) + "/fs"
	if part > 0 {
		return fmt.Sprintf("%s/%d", base, part), nil
	}
	var parts []apiv1.Partition
	if err := c.Do(ctx, http.MethodGet, base+"/", nil, 0, &parts); err != nil {
		return "", err
	}
	for _, p := range parts {
		if p.Type == "ntfs" {
			return fmt.Sprintf("%s/%d", base, p.Index), nil
		}
	}
	return "", fmt.Errorf("disk %s of snapshot %s has no NTFS partition", disk, snap)
}
