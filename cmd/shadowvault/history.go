package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

var jobsCmd = command{
	name:    "jobs",
	summary: "show the job history (backups, prune, check, repair, forget) and the scheduled maintenance",
	about: `Lists jobs newest first: kind, host and VM, result, start, duration, bytes
(received by a backup, freed by a prune) and the error of a failed job; a
running backup shows its progress. Then the maintenance that serve
--prune-interval and --check-interval schedule, with its last run.
--host and --vm take exact names or globs (SQL*). --since and --until take
an RFC 3339 time or an age such as 24h or 7d. ` + "`shadowvault jobs show ID`" + `
shows one job with its log.
`,
}

var jobsShowCmd = command{
	name:    "jobs show",
	args:    "ID",
	summary: "show one job of the history with its log lines",
}

type jobsOpts struct {
	adminOpts
	kind, host, vm, result, since, until string
	limit                                int
}

func jobsFlags() (*flag.FlagSet, *jobsOpts) {
	fs := jobsCmd.flagSet()
	o := &jobsOpts{}
	o.cf.register(fs)
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	fs.StringVar(&o.kind, "kind", "", "only jobs of this `KIND`: backup, prune, check, repair or forget")
	fs.StringVar(&o.host, "host", "", "only jobs of this `HOST` (a name or a glob)")
	fs.StringVar(&o.vm, "vm", "", "only jobs of this `VM` (a name or a glob)")
	fs.StringVar(&o.result, "result", "", "only jobs with this `RESULT`: running, success, failed or aborted")
	fs.StringVar(&o.since, "since", "", "only jobs started at or after `TIME` (RFC 3339, or an age: 24h, 7d)")
	fs.StringVar(&o.until, "until", "", "only jobs started before `TIME` (RFC 3339, or an age)")
	fs.IntVar(&o.limit, "limit", 0, "at most `N` jobs (server default 100, at most 1000)")
	return fs, o
}

func jobsShowFlags() (*flag.FlagSet, *adminOpts) { return adminFlags(&jobsShowCmd) }

func cmdJobs(args []string) int {
	if sub, rest := subverb(args); sub == "show" {
		return cmdJobsShow(rest)
	}
	fs, o := jobsFlags()
	q := url.Values{}
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("jobs takes no arguments (jobs show ID shows one job)"))
	}
	for name, v := range map[string]string{"kind": o.kind, "host": o.host, "vm": o.vm, "result": o.result} {
		if v != "" {
			q.Set(name, v)
		}
	}
	for name, v := range map[string]string{"since": o.since, "until": o.until} {
		if v == "" {
			continue
		}
		t, err := parseSince(v, time.Now())
		if err != nil {
			return fail(usageErrorf("jobs: --%s: %v", name, err))
		}
		q.Set(name, t.UTC().Format(time.RFC3339))
	}
	if o.limit != 0 {
		q.Set("limit", strconv.Itoa(o.limit))
	}
	path := "/api/v1/jobs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	raw, code := o.get(fs, nil, path)
	if code != exitOK || o.json {
		return orPrint(code, raw)
	}
	var list apiv1.JobList
	if err := json.Unmarshal(raw, &list); err != nil {
		return fail(err)
	}
	printJobs(list.Jobs)
	printf("")
	printMaintenance(list.Maintenance)
	return exitOK
}

// parseSince reads an RFC 3339 time, or an age before now (parseAge).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseAge(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor an age such as 24h or 7d", s)
	}
	return now.Add(-d), nil
}

// parseAge reads a Go duration or a number of days (7d), not negative.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("age %q: want N days (such as 30d) or a duration (such as 720h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("age %q: want N days (such as 30d) or a duration (such as 720h)", s)
	}
	return d, nil
}

func printJobs(jobs []apiv1.JobRecord) {
	if len(jobs) == 0 {
		printf("no jobs")
		return
	}
	t := newTable("ID", "KIND", "HOST", "VM", "RESULT", "START", "TOOK", "BYTES", "DETAIL")
	for _, j := range jobs {
		t.row("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", j.ID, j.Kind, orDash(j.Host), orDash(j.VM), j.Result,
			showTime(j.Start), took(j), jobBytes(j), jobDetail(j))
	}
	t.end()
}

func took(j apiv1.JobRecord) string {
	if j.End.IsZero() {
		return "-"
	}
	return j.End.Sub(j.Start).Round(time.Second / 10).String()
}

func jobBytes(j apiv1.JobRecord) string {
	if p := j.Progress; p != nil && p.BytesTotal > 0 {
		return fmt.Sprintf("%s of %s", humanBytes(p.BytesDone), humanBytes(p.BytesTotal))
	}
	if j.Bytes == 0 && j.Kind != apiv1.JobBackup {
		return "-"
	}
	return humanBytes(j.Bytes)
}

// jobDetail is the error of a failed job, else what it was for.
func jobDetail(j apiv1.JobRecord) string {
	var parts []string
	if j.Error != "" {
		e := j.Error
		if len(e) > 120 {
			e = e[:117] + "..."
		}
		parts = append(parts, e)
	}
	if j.SnapshotID != "" {
		parts = append(parts, "snapshot "+j.SnapshotID)
	}
	if j.Schedule != "" {
		parts = append(parts, "schedule "+j.Schedule)
	}
	return orDash(strings.Join(parts, "; "))
}

func cmdJobsShow(args []string) int {
	fs, o := jobsShowFlags()
	pos := parseArgs(fs, args)
	if len(pos) != 1 {
		return fail(usageErrorf("usage: shadowvault jobs show ID"))
	}
	raw, code := o.get(fs, nil, "/api/v1/jobs/"+url.PathEscape(pos[0]))
	if code != exitOK || o.json {
		return orPrint(code, raw)
	}
	var j apiv1.JobDetail
	if err := json.Unmarshal(raw, &j); err != nil {
		return fail(err)
	}
	t := newTable()
	t.row("id\t%s", j.ID)
	t.row("kind\t%s (%s)", j.Kind, j.Trigger)
	for _, f := range [][2]string{{"schedule", j.Schedule}, {"host", j.Host}, {"vm", j.VM},
		{"session", j.SessionID}, {"snapshot", j.SnapshotID}} {
		if f[1] != "" {
			t.row("%s\t%s", f[0], f[1])
		}
	}
	t.row("result\t%s", j.Result)
	t.row("start\t%s", showTime(j.Start))
	t.row("end\t%s", showTime(j.End))
	t.row("took\t%s", took(j.JobRecord))
	t.row("bytes\t%s", jobBytes(j.JobRecord))
	if j.NewBytes > 0 {
		t.row("new bytes\t%s", humanBytes(j.NewBytes))
	}
	if j.Error != "" {
		t.row("error\t%s", j.Error)
	}
	t.end()
	printf("")
	if len(j.Log) == 0 {
		printf("no log lines")
	}
	for _, l := range j.Log {
		printf("%s %-5s %s", l.Time.Local().Format("2006-01-02 15:04:05.000"), l.Level, l.Msg)
	}
	return exitOK
}

func printMaintenance(list []apiv1.Job) {
	t := newTable("MAINTENANCE", "STATE", "INTERVAL", "LAST START", "LAST END", "TOOK", "RUNS", "LAST OUTCOME")
	for _, j := range list {
		state := "idle"
		if j.Running {
			state = "running"
		}
		took := "-"
		if j.Seconds > 0 {
			took = fmt.Sprintf("%.1fs", j.Seconds)
		}
		t.row("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s", j.Name, state, firstSet(j.Interval, "not scheduled"),
			showTime(j.LastStart), showTime(j.LastEnd), took, j.Runs, jobOutcome(j))
	}
	t.end()
}

// jobOutcome sums up a maintenance job's last run.
func jobOutcome(j apiv1.Job) string {
	switch {
	case j.LastError != "":
		return "failed: " + j.LastError
	case j.Runs == 0:
		return "-"
	case j.Name == "prune":
		return "freed " + humanBytes(j.BytesFreed)
	case j.Name == "check":
		var r apiv1.CheckResult
		if json.Unmarshal(j.LastResult, &r) == nil && !r.OK {
			return fmt.Sprintf("%d problems", len(r.Problems))
		}
		return "ok"
	}
	return "ok"
}
