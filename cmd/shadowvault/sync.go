package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/replicate"
	"github.com/shadowvault/shadowvault/repo"
)

var syncCmd = command{
	name:    "sync",
	args:    "--from URL --from-token-file FILE | --to URL --to-token-file FILE",
	summary: "copy snapshots between servers, sending only the chunks the target lacks: pull (--from) or push (--to)",
	about: `With --from, the server named by --server (the target) pulls from the
source server --from with a replication token of the source (shadowvault
token create --role replication, on the source). With --to, the server
named by --server (the source) pushes its own snapshots to the target --to
with a push token of the target (token create --role push, on the target).
Either way the job copies every selected snapshot the target does not hold
yet, and the verb waits for its end, printing progress. A sync killed or
failed is started again and resumes: nothing stored is sent again. Needs an
admin token of the server running the job. See docs/REPLICATION.md.
`,
}

type syncOpts struct {
	cf                  clientFlags
	from, fromTokenFile string
	to, toTokenFile     string
	fromRepo, fromState string // the offline form
	repo, state         string
	rate                int64
	host, vm, maxAge    string
	limitRate           string
	parallel            int
	keepProtected, json bool
	verify              bool
	detach              bool
}

func syncFlags() (*flag.FlagSet, *syncOpts) {
	fs := syncCmd.flagSet()
	o := &syncOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.from, "from", "", "the source server's `URL`")
	fs.StringVar(&o.fromTokenFile, "from-token-file", "", "read the source's replication token from `FILE`")
	fs.StringVar(&o.to, "to", "", "push to the target server at `URL` instead")
	fs.StringVar(&o.toTokenFile, "to-token-file", "", "read the target's push token from `FILE`")
	fs.StringVar(&o.host, "host", "", "copy only snapshots of hosts matching this `GLOB`")
	fs.StringVar(&o.vm, "vm", "", "copy only snapshots of VMs matching this `GLOB`")
	fs.StringVar(&o.maxAge, "max-age", "", "copy only snapshots younger than this `DURATION` (e.g. 720h)")
	fs.StringVar(&o.limitRate, "limit-rate", "", "read at most this many bytes per second from the source: `RATE` such as 500K, 20M, 1G")
	fs.IntVar(&o.parallel, "parallel", 4, "chunk requests in flight (1 to 32)")
	fs.BoolVar(&o.keepProtected, "keep-protected", false, "protect a copy when the source's snapshot is protected")
	fs.BoolVar(&o.verify, "verify", false, "read each copy back on the target before its commit and check every disk against its stream BLAKE3 (pull and offline)")
	fs.BoolVar(&o.detach, "detach", false, "start the job and print its id without waiting")
	fs.StringVar(&o.fromRepo, "from-repo", "", "offline: copy from the repository at `PATH|s3://...` (its server stopped) into --repo")
	fs.StringVar(&o.fromState, "from-state", "", "offline: the source repository's state `DIR` (default as serve)")
	fs.StringVar(&o.repo, "repo", "", "offline: the target repository `PATH|s3://...` (its server stopped)")
	fs.StringVar(&o.state, "state", "", "offline: the target's state `DIR` (default as serve)")
	registerKeyFlags(fs, false)
	registerS3Flags(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

// parseRate reads a rate of bytes per second: a number with an optional
// K, M or G (powers of 1024) suffix.
func parseRate(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, usageErrorf("--limit-rate %q: want a rate such as 500K, 20M or 1G", s)
	}
	return n * mult, nil
}

func cmdSync(args []string) int {
	fs, o := syncFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("sync takes no arguments"))
	}
	if o.fromRepo != "" || o.repo != "" {
		if o.fromRepo == "" || o.repo == "" || o.from != "" || o.to != "" {
			return fail(usageErrorf("the offline sync takes --from-repo and --repo (and neither --from nor --to)"))
		}
		return o.syncOffline()
	}
	req, err := o.request()
	if err != nil {
		return fail(err)
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	var started apiv1.SyncStarted
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/sync", req, &started); err != nil {
		return fail(err)
	}
	if o.detach {
		if o.json {
			return printJSON(started)
		}
		fmt.Fprintf(stdout, "sync job %s started\n", started.Job)
		return exitOK
	}
	job, err := waitSync(ctx, func(ctx context.Context) (apiv1.JobDetail, error) {
		var j apiv1.JobDetail
		err := c.DoJSON(ctx, http.MethodGet, "/api/v1/jobs/"+started.Job, nil, &j)
		return j, err
	})
	if err != nil {
		return fail(err)
	}
	if o.json {
		if code := printJSON(job.JobRecord); code != exitOK {
			return code
		}
	} else {
		printSync(job)
	}
	if job.Result != apiv1.JobSuccess {
		return fail(fmt.Errorf("sync job %s %s: %s", job.ID, job.Result, job.Error))
	}
	return exitOK
}

func (o *syncOpts) request() (apiv1.SyncRequest, error) {
	peer, file, flag := o.from, o.fromTokenFile, "--from"
	if o.to != "" || o.toTokenFile != "" {
		if o.from != "" || o.fromTokenFile != "" {
			return apiv1.SyncRequest{}, usageErrorf("sync takes --from or --to, not both")
		}
		peer, file, flag = o.to, o.toTokenFile, "--to"
	}
	if peer == "" || file == "" {
		return apiv1.SyncRequest{}, usageErrorf("sync needs --from URL and --from-token-file FILE, or --to URL and --to-token-file FILE")
	}
	u, err := parseServer(peer, false)
	if err != nil {
		return apiv1.SyncRequest{}, usageErrorf("%s %q: want SCHEME://HOST[:PORT] of a server (%v)", flag, peer, errText(err))
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return apiv1.SyncRequest{}, usageErrorf("%s-token-file: %v", flag, errText(err))
	}
	rate, err := parseRate(o.limitRate)
	if err != nil {
		return apiv1.SyncRequest{}, err
	}
	req := apiv1.SyncRequest{Host: o.host, VM: o.vm, MaxAge: o.maxAge, RateLimit: rate, Parallel: o.parallel, KeepProtected: o.keepProtected, Verify: o.verify}
	if flag == "--to" {
		req.Target, req.TargetToken = u, strings.TrimSpace(string(b))
	} else {
		req.Source, req.SourceToken = u, strings.TrimSpace(string(b))
	}
	return req, nil
}

// waitSync polls the job until it ends, writing its progress to stderr.
func waitSync(ctx context.Context, get func(context.Context) (apiv1.JobDetail, error)) (apiv1.JobDetail, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		j, err := get(ctx)
		if err != nil {
			return j, err
		}
		if j.Result != apiv1.JobRunning {
			return j, nil
		}
		if st := j.Sync; st != nil {
			fmt.Fprintf(stderr, "sync: %d snapshots copied, %d chunks sent (%s), %d skipped\n",
				st.Snapshots, st.ChunksSent, humanBytes(st.BytesSent), st.ChunksSkipped)
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-tick.C:
		}
	}
}

func printSync(j apiv1.JobDetail) {
	t := newTable()
	t.row("job\t%s", j.ID)
	t.row("result\t%s", j.Result)
	if st := j.Sync; st != nil {
		syncRows(t, *st)
	}
	if !j.End.IsZero() {
		t.row("took\t%s", j.End.Sub(j.Start).Round(time.Millisecond))
	}
	t.end()
}

func syncRows(t *table, st apiv1.SyncStats) {
	t.row("source\t%s %s", st.Source, st.URL)
	t.row("snapshots copied\t%d", st.Snapshots)
	t.row("snapshots present\t%d", st.SnapshotsSkipped)
	t.row("chunks sent\t%d", st.ChunksSent)
	t.row("chunks skipped\t%d", st.ChunksSkipped)
	t.row("bytes sent\t%s", humanBytes(st.BytesSent))
	t.row("bytes stored\t%s", humanBytes(st.BytesStored))
}

func printSyncStats(st repo.SyncStats) {
	t := newTable()
	syncRows(t, syncStatsToWire(st))
	t.end()
}

func syncStatsToWire(st repo.SyncStats) apiv1.SyncStats {
	return apiv1.SyncStats{Source: st.Source, URL: st.URL, Snapshots: st.Snapshots, SnapshotsSkipped: st.SnapshotsSkipped,
		ChunksSent: st.ChunksSent, ChunksSkipped: st.ChunksSkipped, BytesSent: st.BytesSent, BytesStored: st.BytesStored,
		DisksVerified: st.DisksVerified}
}

// options are the selection and tuning of the offline form.
func (o *syncOpts) options() (replicate.Options, error) {
	ro := replicate.Options{Host: o.host, VM: o.vm, Parallel: o.parallel, KeepProtected: o.keepProtected, Verify: o.verify}
	if o.maxAge != "" {
		d, err := time.ParseDuration(o.maxAge)
		if err != nil || d <= 0 {
			return ro, usageErrorf("--max-age %q: want a duration such as 720h", o.maxAge)
		}
		ro.MaxAge = d
	}
	rate, err := parseRate(o.limitRate)
	o.rate = rate
	return ro, err
}
