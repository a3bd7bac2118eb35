package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

var (
	tokenCmd = command{name: "token", args: "create|list|revoke", summary: "manage API tokens"}

	tokenCreateCmd = command{
		name:    "token create",
		args:    "--role admin|restore|agent|replication|push",
		summary: "create an API token and print it with the receipt key agents pin",
		about: `admin may do everything; restore reads snapshots and restores; agent opens
sessions for its own --host only; replication lets another server's sync
job read snapshots and chunks (no restore, no file browsing, no writes);
push lets another server's sync job add the snapshots it pushes (no reads,
no deletes).
The token is shown once: the server keeps
a hash. With --state DIR (the server stopped) the token goes straight into
the index: the way back in when the admin token is lost.
`,
	}
	tokenListCmd   = command{name: "token list", summary: "list the API tokens (IDs, roles, hosts; never the secrets)"}
	tokenRevokeCmd = command{name: "token revoke", args: "ID", summary: "revoke the token of that ID (the last admin token cannot be revoked)"}
)

type tokenOpts struct {
	cf                clientFlags
	role, host, state string
	json              bool
}

func tokenCreateFlags() (*flag.FlagSet, *tokenOpts) {
	fs := tokenCreateCmd.flagSet()
	o := &tokenOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.role, "role", "agent", "`admin|restore|agent|replication|push` (replication: read access for another server's sync job that pulls; push: adding snapshots another server pushes)")
	fs.StringVar(&o.host, "host", "", "the `HOST` an agent token may back up, or a restore token may read (admin: none)")
	fs.StringVar(&o.state, "state", "", "create the token offline in the index of this state `DIR`, with the server stopped")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func tokenListFlags() (*flag.FlagSet, *tokenOpts) {
	fs := tokenListCmd.flagSet()
	o := &tokenOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func tokenRevokeFlags() (*flag.FlagSet, *tokenOpts) {
	fs := tokenRevokeCmd.flagSet()
	o := &tokenOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func cmdToken(args []string) int {
	sub, rest := subverb(args)
	switch sub {
	case "create":
		return cmdTokenCreate(rest)
	case "list":
		return cmdTokenList(rest)
	case "revoke":
		return cmdTokenRevoke(rest)
	}
	return groupUsage(&tokenCmd, sub)
}

func cmdTokenCreate(args []string) int {
	fs, o := tokenCreateFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("token create takes no arguments"))
	}
	if o.state != "" {
		return createTokenOffline(o.state, o.role, o.host)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	// The server checks the role: an unknown one is refused there.
	var res apiv1.TokenCreated
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.Role(o.role), Host: o.host}, &res); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(res)
	}
	printf("token:       %s\nid:          %s\nreceipt key: %s", res.Token, res.ID, res.ReceiptKey)
	return exitOK
}

func cmdTokenList(args []string) int {
	fs, o := tokenListFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("token list takes no arguments"))
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var raw json.RawMessage
	if err := c.Do(ctx, http.MethodGet, "/api/v1/tokens", nil, 0, &raw); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(raw)
	}
	var res apiv1.TokenList
	if err := json.Unmarshal(raw, &res); err != nil {
		return fail(err)
	}
	t := newTable("ID", "ROLE", "HOST", "CREATED")
	for _, tok := range res.Tokens {
		t.row("%s\t%s\t%s\t%s", tok.ID, tok.Role, orDash(tok.Host), tok.Created.Local().Format(time.DateTime))
	}
	t.end()
	return exitOK
}

func cmdTokenRevoke(args []string) int {
	fs, o := tokenRevokeFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 1 {
		return fail(usageErrorf("token revoke needs a token ID (see token list)"))
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var res apiv1.TokenRevoked
	if err := c.Do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(pos[0]), nil, 0, &res); err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(res)
	}
	printf("revoked %s", pos[0])
	return exitOK
}
