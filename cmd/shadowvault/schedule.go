package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
)

var (
	scheduleCmd = command{name: "schedule", args: "set|list|show|rm|status", summary: "manage the backup schedules the server holds and its agents pull"}

	scheduleSetCmd = command{
		name:    "schedule set",
		args:    "NAME --hosts GLOB --vms GLOB (--window HH:MM-HH:MM [--days mon,...] [--tz ZONE] | --interval DURATION)",
		summary: "store a backup schedule (setting it again replaces it)",
		about: `A schedule selects the VMs of the hosts' inventories (reported by
` + "`shadowvault agent run`" + `) by glob, and says when they are backed up: in a
daily or weekly time window in a named time zone (a window whose end is not
after its start ends on the next day; --days limits it to those days, on
which it starts), or every --interval. A VM is due in a window until it has
a snapshot made since the window started; with an interval, once its last
snapshot is an interval old. The host's agent runs what is due.
`,
	}
	scheduleListCmd   = command{name: "schedule list", summary: "list the stored backup schedules"}
	scheduleShowCmd   = command{name: "schedule show", args: "NAME", summary: "show the schedule NAME"}
	scheduleRmCmd     = command{name: "schedule rm", args: "NAME", summary: "delete the schedule NAME"}
	scheduleStatusCmd = command{
		name:    "schedule status",
		summary: "show where every scheduled VM stands, missed ones first",
		about: `One row per schedule and VM it selects: the last successful backup, the
window open now (or the last one), when the VM is next due, and whether it
missed its last window (it ended with no backup of the VM in it or since).
`,
	}
)

type scheduleOpts struct {
	cf                                    clientFlags
	hosts, vms, window, days, tz, every   string
	policy                                string
	copyType, incremental, disabled, json bool
}

func scheduleSetFlags() (*flag.FlagSet, *scheduleOpts) {
	fs := scheduleSetCmd.flagSet()
	o := &scheduleOpts{}
	o.cf.register(fs)
	fs.StringVar(&o.hosts, "hosts", "", "the hosts, a `GLOB`")
	fs.StringVar(&o.vms, "vms", "", "the VMs, a `GLOB`")
	fs.StringVar(&o.window, "window", "", "the time window, `HH:MM-HH:MM` (e.g. 22:00-04:00)")
	fs.StringVar(&o.days, "days", "", "with --window: the `DAYS` it starts on, e.g. mon,tue,fri (default: every day)")
	fs.StringVar(&o.tz, "tz", "", "with --window: the IANA time `ZONE`, e.g. Europe/Berlin (default UTC)")
	fs.StringVar(&o.every, "interval", "", "back up every `DURATION` instead of in a window (e.g. 6h)")
	fs.BoolVar(&o.copyType, "copy", false, "copy backups (the guests never truncate their logs); default full")
	fs.BoolVar(&o.incremental, "incremental", false, "send only what changed since the last backup of each disk")
	fs.StringVar(&o.policy, "policy", "", "the retention `POLICY` (a stored policy) that applies to these backups")
	fs.BoolVar(&o.disabled, "disabled", false, "store the schedule disabled: nothing is due under it")
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

func scheduleReadFlags(cmd *command) func() (*flag.FlagSet, *scheduleOpts) {
	return func() (*flag.FlagSet, *scheduleOpts) {
		fs := cmd.flagSet()
		o := &scheduleOpts{}
		o.cf.register(fs)
		fs.BoolVar(&o.json, "json", false, jsonHelp)
		return fs, o
	}
}

var (
	scheduleListFlags   = scheduleReadFlags(&scheduleListCmd)
	scheduleShowFlags   = scheduleReadFlags(&scheduleShowCmd)
	scheduleRmFlags     = scheduleReadFlags(&scheduleRmCmd)
	scheduleStatusFlags = scheduleReadFlags(&scheduleStatusCmd)
)

// spec is the schedule the set flags describe; the server checks the
// values themselves.
func (o *scheduleOpts) spec() (apiv1.ScheduleSpec, error) {
	sp := apiv1.ScheduleSpec{Hosts: o.hosts, VMs: o.vms, Interval: o.every, BackupType: apiv1.BackupFull,
		Incremental: o.incremental, Policy: o.policy, Enabled: !o.disabled}
	if o.copyType {
		sp.BackupType = apiv1.BackupCopy
	}
	switch {
	case o.hosts == "" || o.vms == "":
		return sp, usageErrorf("schedule set needs --hosts and --vms (globs; * for all)")
	case (o.window == "") == (o.every == ""):
		return sp, usageErrorf("schedule set needs one of --window or --interval")
	case o.window == "" && (o.days != "" || o.tz != ""):
		return sp, usageErrorf("schedule set: --days and --tz go with --window")
	}
	if o.window != "" {
		start, end, ok := strings.Cut(o.window, "-")
		if !ok {
			return sp, usageErrorf("schedule set: --window %q: want HH:MM-HH:MM", o.window)
		}
		sp.Window = &apiv1.ScheduleWindow{Start: start, End: end, TimeZone: o.tz}
		if o.days != "" {
			sp.Window.Days = strings.Split(o.days, ",")
		}
	}
	return sp, nil
}

// cmdSchedule: shadowvault schedule set|list|show|rm|status.
func cmdSchedule(args []string) int {
	sub, rest := subverb(args)
	var (
		fs  *flag.FlagSet
		o   *scheduleOpts
		cmd *command
	)
	switch sub {
	case "set":
		fs, o = scheduleSetFlags()
		cmd = &scheduleSetCmd
	case "list":
		fs, o = scheduleListFlags()
		cmd = &scheduleListCmd
	case "show":
		fs, o = scheduleShowFlags()
		cmd = &scheduleShowCmd
	case "rm":
		fs, o = scheduleRmFlags()
		cmd = &scheduleRmCmd
	case "status":
		fs, o = scheduleStatusFlags()
		cmd = &scheduleStatusCmd
	default:
		return groupUsage(&scheduleCmd, sub)
	}
	pos := parseArgs(fs, rest)
	named := sub == "set" || sub == "show" || sub == "rm"
	if named != (len(pos) == 1) || len(pos) > 1 {
		return fail(usageErrorf("usage: shadowvault %s %s", cmd.name, cmd.args))
	}
	method, path, body := http.MethodGet, "/api/v1/schedules", any(nil)
	switch sub {
	case "set":
		sp, err := o.spec()
		if err != nil {
			return fail(err)
		}
		method, path, body = http.MethodPut, path+"/"+url.PathEscape(pos[0]), sp
	case "show":
		path += "/" + url.PathEscape(pos[0])
	case "rm":
		method, path = http.MethodDelete, path+"/"+url.PathEscape(pos[0])
	case "status":
		path += "/status"
	}
	c, ctx, stop, err := o.cf.start()
	if err != nil {
		return fail(err)
	}
	defer stop()
	raw, err := doRaw(ctx, c, method, path, body)
	if err != nil {
		return fail(err)
	}
	if o.json {
		return printJSON(raw)
	}
	return printSchedules(sub, raw)
}

func printSchedules(sub string, raw json.RawMessage) int {
	switch sub {
	case "rm":
		var d apiv1.ScheduleDeleted
		_ = json.Unmarshal(raw, &d)
		printf("schedule %s deleted", d.Name)
	case "status":
		var st apiv1.ScheduleStatusList
		if err := json.Unmarshal(raw, &st); err != nil {
			return fail(err)
		}
		t := newTable("SCHEDULE", "HOST", "VM", "LAST SUCCESS", "WINDOW START", "NEXT DUE", "MISSED")
		for _, r := range st.VMs {
			missed := "no"
			if r.Missed {
				missed = "MISSED"
			}
			t.row("%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Schedule, r.Host, r.VM, timeOrDash(r.LastSuccess), timeOrDash(r.WindowStart), timeOrDash(r.NextDue), missed)
		}
		t.end()
	case "list":
		var l apiv1.ScheduleList
		if err := json.Unmarshal(raw, &l); err != nil {
			return fail(err)
		}
		t := newTable("NAME", "HOSTS", "VMS", "WHEN", "TYPE", "POLICY", "ENABLED")
		for _, s := range l.Schedules {
			t.row("%s\t%s\t%s\t%s\t%s\t%s\t%v", s.Name, s.Hosts, s.VMs, scheduleWhen(s.ScheduleSpec), scheduleType(s.ScheduleSpec), orDash(s.Policy), s.Enabled)
		}
		t.end()
	default: // set, show
		var s apiv1.Schedule
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail(err)
		}
		state := "enabled"
		if !s.Enabled {
			state = "disabled"
		}
		printf("schedule %s (%s): hosts %s, VMs %s, %s, %s, policy %s", s.Name, state, s.Hosts, s.VMs,
			scheduleWhen(s.ScheduleSpec), scheduleType(s.ScheduleSpec), orDash(s.Policy))
	}
	return exitOK
}

// scheduleWhen says when, as the flags that set it do.
func scheduleWhen(s apiv1.ScheduleSpec) string {
	if w := s.Window; w != nil {
		days := "every day"
		if len(w.Days) > 0 {
			days = strings.Join(w.Days, ",")
		}
		return fmt.Sprintf("%s-%s %s %s", w.Start, w.End, firstSet(w.TimeZone, "UTC"), days)
	}
	return "every " + s.Interval
}

func scheduleType(s apiv1.ScheduleSpec) string {
	if s.Incremental {
		return s.BackupType.String() + " incremental"
	}
	return s.BackupType.String()
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return showTime(*t)
}
