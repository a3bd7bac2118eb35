package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/receipt"
)

// Exit codes of the client commands.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitRefused  = 3 // refused, bad token, forbidden, bad input
	exitNetwork  = 4
	exitServer   = 5
	exitMismatch = 6 // the receipt or a stream hash does not verify
)

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, agent.ErrVerify):
		return exitMismatch
	case errors.Is(err, agent.ErrRefused):
		return exitRefused
	case errors.Is(err, agent.ErrNetwork):
		return exitNetwork
	case errors.Is(err, agent.ErrServer):
		return exitServer
	}
	return exitFailure
}

type clientFlags struct {
	server, token, caCert string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", envOr("SHADOWVAULT_SERVER", "http://127.0.0.1:8420"), "server URL (SHADOWVAULT_SERVER)")
	fs.StringVar(&c.token, "token", os.Getenv("SHADOWVAULT_TOKEN"), "API token, or @FILE to read it from a file (SHADOWVAULT_TOKEN)")
	fs.StringVar(&c.caCert, "ca-cert", os.Getenv("SHADOWVAULT_CA_CERT"), "trust this CA certificate (PEM) for an https server (SHADOWVAULT_CA_CERT)")
}

func (c *clientFlags) client() (*agent.Client, error) {
	tok := c.token
	if path, ok := strings.CutPrefix(tok, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, fmt.Errorf("%w: no token: pass --token or set SHADOWVAULT_TOKEN", agent.ErrRefused)
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 16, ForceAttemptHTTP2: true}
	if c.caCert != "" {
		pem, err := os.ReadFile(c.caCert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: no certificate in %s", agent.ErrRefused, c.caCert)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &agent.Client{Server: c.server, Token: tok, HTTP: &http.Client{Transport: tr}}, nil
}

// start makes the client and a context that ends on SIGINT or SIGTERM.
func (c *clientFlags) start() (*agent.Client, context.Context, context.CancelFunc, error) {
	cl, err := c.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := signalContext()
	return cl, ctx, stop, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "shadowvault:", err)
	return exitCode(err)
}

func cmdBackup(args []string) int {
	fs := flag.NewFlagSet("backup", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	key := fs.String("receipt-key", os.Getenv("SHADOWVAULT_RECEIPT_KEY"), "pinned receipt key, hex (SHADOWVAULT_RECEIPT_KEY)")
	host := fs.String("host", "", "Hyper-V host name")
	vm := fs.String("vm", "", "VM name")
	typ := fs.String("type", "full", "full (guest logs may be truncated) or copy")
	consistency := fs.String("consistency", "", "application (VSS writers prepared the guest) or crash; default: application with --vss, else crash")
	format := fs.String("format", "", "force the disk format: raw, vhd or vhdx (default: detect)")
	writers := fs.String("writers", "", "VSS writer metadata to record with the snapshot (JSON array)")
	writerDoc := fs.String("writer-metadata", "", "file with the VSS writer metadata document (diskshadow's .cab) to keep with the snapshot")
	parallel := fs.Int("parallel", 2, "disks streamed at once")
	retries := fs.Int("retries", 2, "extra attempts for a failed disk upload")
	hints := fs.Bool("guest-hints", true, "read each disk's NTFS volumes and send file boundaries (better dedup)")
	excludeFree := fs.Bool("exclude-free", false, "also send free space, page and hibernation files: stored as zeros (smaller; deleted data is not kept)")
	vss := fs.Bool("vss", false, "Windows: take a VSS backup with diskshadow (Hyper-V writer) and upload from the shadow copies")
	incremental := fs.Bool("incremental", false, "send only what changed since a base snapshot of this host and VM (a synthetic full is stored); a disk without a base goes up whole")
	base := fs.String("base", "", "with --incremental: the base snapshot (default: the newest holding each disk)")
	changed := fs.String("changed-ranges", "", "with --incremental: a JSON file [{\"offset\":N,\"length\":N}] of the ranges that changed (default: compare block digests)")
	disks := parseArgs(fs, args)
	if *host == "" || *vm == "" || len(disks) == 0 {
		fmt.Fprintln(os.Stderr, "backup needs --host, --vm and at least one disk")
		return exitUsage
	}
	if !*incremental && (*base != "" || *changed != "") {
		fmt.Fprintln(os.Stderr, "backup: --base and --changed-ranges need --incremental")
		return exitUsage
	}
	if *changed != "" && len(disks) != 1 {
		fmt.Fprintln(os.Stderr, "backup: --changed-ranges describes one disk: back up one disk with it")
		return exitUsage
	}
	backupType, err := receipt.ParseBackupType(*typ)
	if err != nil {
		fmt.Fprintf(os.Stderr, "backup: --type %q: want full or copy\n", *typ)
		return exitUsage
	}
	cons, err := backupConsistency(*vss, *consistency)
	if err != nil {
		fmt.Fprintln(os.Stderr, "backup:", err)
		return exitUsage
	}
	if *vss {
		// The upload step repeats these flags; the token stays in the
		// environment (SHADOWVAULT_TOKEN), never in the script.
		if cf.token != "" && os.Getenv("SHADOWVAULT_TOKEN") == "" {
			os.Setenv("SHADOWVAULT_TOKEN", cf.token)
		}
		return runVSS(*vm, backupType, disks, vssUploadArgs(vssUpload{
			server: cf.server, caCert: cf.caCert, key: *key, host: *host, vm: *vm, typ: backupType, format: *format,
			parallel: *parallel, retries: *retries, hints: *hints, excludeFree: *excludeFree,
			incremental: *incremental, base: *base, changed: *changed,
		}))
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	p := &agent.Progress{}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	done := showProgress(p, "backup", true)
	rc, err := agent.Backup(ctx, c, agent.BackupOptions{
		Host: *host, VM: *vm, Type: backupType, Consistency: cons, Disks: disks, Format: *format,
		ReceiptKey: *key, Parallel: *parallel, Retries: *retries, Progress: p, Log: log, Writers: writersJSON(*writers), WriterMetadata: *writerDoc,
		GuestHints: *hints, ExcludeFree: *excludeFree, Incremental: *incremental, Base: *base, ChangedRanges: *changed,
	})
	done()
	if err != nil {
		return fail(err)
	}
	log.Info("backup complete: receipt verified", "snapshot", rc.Snapshot, "truncate_logs", rc.TruncateLogs)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rc)
	return exitOK
}

// backupConsistency is the consistency the agent asks for. With --vss the
// VSS writers (through the Hyper-V writer, the guest's) prepare the guest:
// application. Without, nothing did: crash, unless the caller froze the
// guest itself and says so with --consistency application. --vss with
// crash is refused: diskshadow tells the writers a full backup succeeded,
// which a crash-consistent snapshot record would contradict.
func backupConsistency(vss bool, flag string) (apiv1.Consistency, error) {
	switch {
	case flag == "" && vss:
		return apiv1.ConsistencyApplication, nil
	case flag == "":
		return apiv1.ConsistencyCrash, nil
	}
	c, err := receipt.ParseConsistency(flag)
	switch {
	case err != nil:
		return "", fmt.Errorf("--consistency %q: want application or crash", flag)
	case vss && c == apiv1.ConsistencyCrash:
		return "", errors.New("--vss runs the VSS writers, so the backup is application-consistent: --consistency crash cannot be used with --vss")
	}
	return c, nil
}

// vssUpload is what the upload step that diskshadow EXECs is run with.
type vssUpload struct {
	server, caCert, key, host, vm, format string
	typ                                   apiv1.BackupType
	parallel, retries                     int
	hints, excludeFree                    bool
	incremental                           bool
	base, changed                         string
}

// vssUploadArgs are the upload step's flags: everything but the disks and
// the token. It runs inside the VSS backup, so it asks for an
// application-consistent backup.
func vssUploadArgs(u vssUpload) []string {
	up := []string{"--server", u.server, "--host", u.host, "--vm", u.vm, "--type", u.typ.String(),
		"--consistency", apiv1.ConsistencyApplication.String(), "--parallel", fmt.Sprint(u.parallel), "--retries", fmt.Sprint(u.retries)}
	if u.key != "" {
		up = append(up, "--receipt-key", u.key)
	}
	if u.caCert != "" {
		up = append(up, "--ca-cert", u.caCert)
	}
	if u.format != "" {
		up = append(up, "--format", u.format)
	}
	up = append(up, fmt.Sprintf("--guest-hints=%v", u.hints), fmt.Sprintf("--exclude-free=%v", u.excludeFree))
	if u.incremental {
		up = append(up, "--incremental")
		if u.base != "" {
			up = append(up, "--base", u.base)
		}
		if u.changed != "" {
			up = append(up, "--changed-ranges", u.changed)
		}
	}
	writers, _ := json.Marshal([]apiv1.Writer{{Name: "Microsoft Hyper-V VSS Writer", ID: agent.HyperVWriter}})
	return append(up, "--writers", string(writers))
}

func cmdSnapshots(args []string) int {
	fs := flag.NewFlagSet("snapshots", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	host := fs.String("host", "", "only this host")
	vm := fs.String("vm", "", "only this VM")
	asJSON := fs.Bool("json", false, "print JSON")
	_ = fs.Parse(args)
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var out apiv1.SnapshotList
	q := "/api/v1/snapshots?host=" + urlQuery(*host) + "&vm=" + urlQuery(*vm)
	if *asJSON {
		var raw json.RawMessage
		if err := c.Do(ctx, http.MethodGet, q, nil, 0, &raw); err != nil {
			return fail(err)
		}
		os.Stdout.Write(raw)
		return exitOK
	}
	if err := c.Do(ctx, http.MethodGet, q, nil, 0, &out); err != nil {
		return fail(err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tHOST\tVM\tSIZE\tDISKS")
	for _, s := range out.Snapshots {
		var names []string
		for _, d := range s.Disks {
			names = append(names, d.Name+" ("+d.Format.String()+")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Time, s.Host, s.VM, humanBytes(s.LogicalBytes), strings.Join(names, ", "))
	}
	tw.Flush()
	return exitOK
}

func cmdRestore(args []string) int {
	fs := flag.NewFlagSet("restore", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	format := fs.String("format", "raw", "raw, original, vhd or vhdx")
	out := fs.String("o", "", "output file (default: stdout); written beside it first, in place only once complete")
	force := fs.Bool("force", false, "replace the -o file if it exists")
	pos := parseArgs(fs, args)
	if len(pos) != 2 {
		fmt.Fprintln(os.Stderr, "restore needs SNAPSHOT and DISK")
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
	p := &agent.Progress{}
	done := showProgress(p, "restore", o.toFile())
	n, err := c.Restore(ctx, pos[0], pos[1], *format, o, func(d, t int64) { p.Sent.Store(d); p.Total.Store(t) })
	done()
	if err == nil {
		err = o.commit()
	}
	if err != nil {
		return failOutput(err)
	}
	slog.Info("restore complete", "snapshot", pos[0], "disk", pos[1], "format", *format, "bytes", n)
	return exitOK
}

func cmdToken(args []string) int {
	if len(args) > 0 && (args[0] == "list" || args[0] == "revoke") {
		return cmdTokenAdmin(args[0], args[1:])
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(os.Stderr, "usage: shadowvault token create --role admin|restore|agent [--host H] | token list | token revoke ID")
		return exitUsage
	}
	fs := flag.NewFlagSet("token create", flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	role := fs.String("role", "agent", "admin, restore or agent")
	host := fs.String("host", "", "the host an agent token may back up, or a restore token may read (admin: none)")
	state := fs.String("state", "", "create the token offline in the index of this state directory, with the server stopped (the way back in without an admin token)")
	_ = fs.Parse(args[1:])
	if *state != "" {
		return createTokenOffline(*state, *role, *host)
	}
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	// The server checks the role: an unknown one is refused there.
	var res apiv1.TokenCreated
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.Role(*role), Host: *host}, &res); err != nil {
		return fail(err)
	}
	fmt.Printf("token:       %s\nid:          %s\nreceipt key: %s\n", res.Token, res.ID, res.ReceiptKey)
	return exitOK
}

// showProgress draws a progress line on a terminal, or nothing elsewhere
// (the agent logs one line per disk then). It returns a function that ends it.
func showProgress(p *agent.Progress, what string, enabled bool) func() {
	fi, err := os.Stderr.Stat()
	if !enabled || err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case <-t.C:
			}
			done, total := p.Sent.Load(), p.Total.Load()
			secs := time.Since(start).Seconds()
			rate := float64(done) / max(secs, 1e-3)
			line := fmt.Sprintf("%s: %s of %s  %s/s", what, humanBytes(done), humanBytes(total), humanBytes(int64(rate)))
			if rate > 0 && total > done {
				line += fmt.Sprintf("  %s left", (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second))
			}
			if c := p.Changed.Load(); c > 0 {
				line += "  changed " + humanBytes(c)
			}
			if s := p.Streamed.Load(); s > 0 {
				line += fmt.Sprintf("  deduplicated %.0f%%", 100*(1-float64(p.New.Load())/float64(s)))
			}
			fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		}
	}()
	return func() { close(stop); <-finished }
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func urlQuery(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// parseArgs parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) []string {
	var pos []string
	for {
		_ = fs.Parse(args)
		args = fs.Args()
		if len(args) == 0 {
			return pos
		}
		if args[0] == "--" {
			return append(pos, args[1:]...)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdTokenAdmin(verb string, args []string) int {
	fs := flag.NewFlagSet("token "+verb, flag.ExitOnError)
	var cf clientFlags
	cf.register(fs)
	pos := parseArgs(fs, args)
	c, ctx, stop, err := cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	if verb == "revoke" {
		if len(pos) != 1 {
			fmt.Fprintln(os.Stderr, "token revoke needs a token id")
			return exitUsage
		}
		if err := c.Do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(pos[0]), nil, 0, nil); err != nil {
			return fail(err)
		}
		fmt.Println("revoked", pos[0])
		return exitOK
	}
	var res apiv1.TokenList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/tokens", nil, 0, &res); err != nil {
		return fail(err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tHOST\tCREATED")
	for _, t := range res.Tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Host, t.Created.Format(time.RFC3339Nano))
	}
	tw.Flush()
	return exitOK
}

func writersJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}
