package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

const urlUsage = `usage:
  shadowvault url [flags] SNAPSHOT DISK   print a signed, read-only URL of one snapshot disk
  shadowvault url list [--json]           list the links that have not expired
  shadowvault url revoke ID               revoke a link

A signed URL reads one disk of one snapshot in one format (GET and HEAD,
with ranges) without a bearer token, until it expires or is revoked, or the
token that made it is revoked: for qemu-img, a browser or curl. Anyone who
has the URL can read the disk; treat it like a password.
`

// cmdURL makes, lists and revokes signed restore links.
func cmdURL(args []string) int {
	if len(args) > 0 && (args[0] == "list" || args[0] == "revoke") {
		return cmdURLAdmin(args[0], args[1:])
	}
	fs := flag.NewFlagSet("url", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), urlUsage, "\nflags:\n"); fs.PrintDefaults() }
	var cf clientFlags
	cf.register(fs)
	format := fs.String("format", "raw", "restore format the URL serves: raw, original, vhd or vhdx")
	expires := fs.Duration("expires", time.Hour, "lifetime of the URL (at most 168h)")
	asJSON := fs.Bool("json", false, "print the link as JSON")
	pos := parseArgs(fs, args)
	if len(pos) != 2 {
		fmt.Fprintln(os.Stderr, "url needs SNAPSHOT and DISK")
		return exitUsage
	}
	if *expires < time.Second || *expires > apiv1.MaxLinkLifetime {
		fmt.Fprintf(os.Stderr, "url: --expires must be between 1s and %s\n", apiv1.MaxLinkLifetime)
		return exitUsage
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	snap := pos[0] // TODO(merge): resolveSnapshot
	var l apiv1.LinkCreated
	path := "/api/v1/snapshots/" + url.PathEscape(snap) + "/disks/" + url.PathEscape(pos[1]) + "/links"
	req := apiv1.LinkRequest{Format: *format, ExpiresIn: int64(expires.Seconds())}
	if err := c.DoJSON(ctx, http.MethodPost, path, req, &l); err != nil {
		return fail(err)
	}
	full := strings.TrimRight(c.Server, "/") + l.Path
	if *asJSON {
		out := struct {
			apiv1.LinkCreated
			URL string `json:"url"`
		}{l, full}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Println(string(b))
		return exitOK
	}
	fmt.Println(full)
	fmt.Fprintf(os.Stderr, "link %s: %s of snapshot %s as %s, read-only, until %s\n",
		l.ID, l.Disk, l.Snapshot, l.Format, l.Expires.Local().Format(time.RFC3339))
	return exitOK
}

func cmdURLAdmin(verb string, args []string) int {
	fs := flag.NewFlagSet("url "+verb, flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), urlUsage, "\nflags:\n"); fs.PrintDefaults() }
	var cf clientFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos := parseArgs(fs, args)
	if verb == "revoke" && len(pos) != 1 || verb == "list" && len(pos) != 0 {
		fs.Usage()
		return exitUsage
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	if verb == "revoke" {
		var out apiv1.LinkRevoked
		if err := c.Do(ctx, http.MethodDelete, "/api/v1/links/"+url.PathEscape(pos[0]), nil, 0, &out); err != nil {
			return fail(err)
		}
		fmt.Printf("link %s revoked\n", out.ID)
		return exitOK
	}
	var out apiv1.LinkList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/links", nil, 0, &out); err != nil {
		return fail(err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Println(string(b))
		return exitOK
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSNAPSHOT\tDISK\tFORMAT\tHOST\tEXPIRES\tBY")
	for _, l := range out.Links {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Snapshot, l.Disk, l.Format, l.Host,
			l.Expires.Local().Format(time.RFC3339), l.CreatedBy)
	}
	tw.Flush()
	return exitOK
}
