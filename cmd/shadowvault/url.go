package main

import (
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

const urlAbout = snapshotHelp + `
The URL reads DISK of the snapshot in one --format (GET and HEAD, with
ranges) without a bearer token, until it expires, is revoked (url revoke),
or the token that made it is revoked: for qemu-img, curl or a browser.
Anyone who has the URL can read the disk; treat it like a password.
`

var (
	urlListCmd   = command{name: "url list", summary: "list the signed URLs that have not expired (never their secrets)"}
	urlRevokeCmd = command{name: "url revoke", args: "ID", summary: "revoke the signed URL of that link ID"}
)

type urlOpts struct {
	cf       clientFlags
	format   string
	expires  time.Duration
	host, vm string
	json     bool
}

func urlFlags() (*flag.FlagSet, *urlOpts) {
	fs := urlCommand.flagSet()
	o := &urlOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.format, "format", "raw", "what the URL serves (`raw|original|vhd|vhdx`)")
	fs.DurationVar(&o.expires, "expires", time.Hour, "lifetime of the URL (`DURATION`, at most 168h)")
	fs.StringVar(&o.host, "host", "", "SNAPSHOT is of this `HOST` (for latest or a prefix)")
	fs.StringVar(&o.vm, "vm", "", "SNAPSHOT is of this `VM` (for latest or a prefix)")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func urlListFlags() (*flag.FlagSet, *urlOpts) {
	fs := urlListCmd.flagSet()
	o := &urlOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func urlRevokeFlags() (*flag.FlagSet, *urlOpts) {
	fs := urlRevokeCmd.flagSet()
	o := &urlOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

// cmdURL makes a signed restore URL, or lists or revokes them.
func cmdURL(args []string) int {
	switch sub, rest := subverb(args); sub {
	case "list":
		return cmdURLList(rest)
	case "revoke":
		return cmdURLRevoke(rest)
	}
	fs, o := urlFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 2 {
		return fail(usageErrorf("url needs SNAPSHOT and DISK"))
	}
	if o.expires < time.Second || o.expires > apiv1.MaxLinkLifetime {
		return fail(usageErrorf("--expires must be between 1s and %s", apiv1.MaxLinkLifetime))
	}
	if err := checkSnapshotArg(pos[0]); err != nil {
		return fail(err)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	snap, err := resolveSnapshot(ctx, c, pos[0], o.host, o.vm)
	if err != nil {
		return fail(err)
	}
	var l apiv1.LinkCreated
	path := "/api/v1/snapshots/" + url.PathEscape(snap) + "/disks/" + url.PathEscape(pos[1]) + "/links"
	req := apiv1.LinkRequest{Format: o.format, ExpiresIn: int64(o.expires / time.Second)}
	if err := c.DoJSON(ctx, http.MethodPost, path, req, &l); err != nil {
		return fail(err)
	}
	full := strings.TrimRight(c.Server, "/") + l.Path
	if o.json {
		return printJSON(struct {
			apiv1.LinkCreated
			URL string `json:"url"`
		}{l, full})
	}
	printf("%s", full)
	slog.Info("signed URL made", "link", l.ID, "snapshot", l.Snapshot, "disk", l.Disk, "format", l.Format,
		"expires", l.Expires.Local().Format(time.RFC3339))
	return exitOK
}

func cmdURLList(args []string) int {
	fs, o := urlListFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("url list takes no arguments"))
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var raw json.RawMessage
	if err := c.Do(ctx, http.MethodGet, "/api/v1/links", nil, 0, &raw); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(raw)
	}
	var res apiv1.LinkList
	if err := json.Unmarshal(raw, &res); err != nil {
		return fail(err)
	}
	t := newTable("ID", "SNAPSHOT", "DISK", "FORMAT", "HOST", "EXPIRES", "BY")
	for _, l := range res.Links {
		t.row("%s\t%s\t%s\t%s\t%s\t%s\t%s", l.ID, l.Snapshot, l.Disk, l.Format, l.Host,
			l.Expires.Local().Format(time.DateTime), l.CreatedBy)
	}
	t.end()
	return exitOK
}

func cmdURLRevoke(args []string) int {
	fs, o := urlRevokeFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 1 {
		return fail(usageErrorf("url revoke needs the link ID"))
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var raw json.RawMessage
	if err := c.Do(ctx, http.MethodDelete, "/api/v1/links/"+url.PathEscape(pos[0]), nil, 0, &raw); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(raw)
	}
	printf("link %s revoked", pos[0])
	return exitOK
}
