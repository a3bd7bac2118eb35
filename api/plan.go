package api

import (
	"net/http"
	"sort"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

// Poll bounds of a plan: an agent asks again when its next VM is due,
// but never sooner than minPoll nor later than maxPoll (schedules change).
const (
	minPoll = 30 * time.Second
	maxPoll = 5 * time.Minute
)

type vmKey struct{ host, vm string }

// scheduleView is what plans and status are computed from: the
// schedules, the inventories and the time of each VM's newest snapshot.
type scheduleView struct {
	now       time.Time
	schedules []storedSchedule
	inv       []apiv1.HostInventory
	last      map[vmKey]time.Time
	// failed is each VM's last failed backup in the job history.
	failed map[vmKey]time.Time
}

func (s *Server) scheduleView(host string) (*scheduleView, error) {
	v := &scheduleView{now: s.now(), last: map[vmKey]time.Time{}, failed: map[vmKey]time.Time{}}
	var err error
	if v.schedules, err = s.schedules(); err != nil {
		return nil, err
	}
	if v.inv, err = s.inventories(); err != nil {
		return nil, err
	}
	snaps, err := s.repo.Snapshots(repo.Filter{Host: host})
	if err != nil {
		return nil, err
	}
	for _, m := range snaps {
		k := vmKey{m.Host, m.VM}
		if m.Time.After(v.last[k]) {
			v.last[k] = m.Time
		}
	}
	for _, st := range s.repo.History().VMs() {
		if !st.LastFailure.IsZero() && (host == "" || st.Host == host) {
			v.failed[vmKey{st.Host, st.VM}] = st.LastFailure
		}
	}
	return v, nil
}

// plan answers GET /api/v1/plan?host=H: the host's inventory VMs (with a
// disk) that an enabled schedule makes due now (the first by schedule name, one item a
// VM), with the disks the inventory names.
func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Query().Get("host")
	if err := validName("host", host); err != nil {
		writeError(w, r, err)
		return
	}
	if tok := caller(r); tok.Role == apiv1.RoleAgent && tok.Host != host {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "this agent token may only ask for the plan of host "+tok.Host))
		return
	}
	v, err := s.scheduleView(host)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v.plan(host))
}

func (v *scheduleView) plan(host string) apiv1.Plan {
	p := apiv1.Plan{Host: host, Now: utc(v.now), Due: []apiv1.PlanItem{}}
	poll := maxPoll
	for _, inv := range v.inv {
		if inv.Host != host {
			continue
		}
		for _, vm := range inv.VMs {
			if len(vm.Disks) == 0 {
				continue // nothing to back up
			}
			last := v.last[vmKey{host, vm.Name}]
			for _, sc := range v.schedules {
				if !sc.Enabled || !sc.when.Matches(host, vm.Name) {
					continue
				}
				if win, due := sc.when.Due(v.now, last); due {
					disks := make([]string, len(vm.Disks))
					for i, d := range vm.Disks {
						disks[i] = d.Path
					}
					p.Due = append(p.Due, apiv1.PlanItem{Schedule: sc.Name, VM: vm.Name, Disks: disks,
						BackupType: sc.BackupType, Incremental: sc.Incremental, NotAfter: utc(win.End)})
					break
				}
				if next := sc.when.NextDue(v.now, last); !next.IsZero() {
					poll = min(poll, next.Sub(v.now))
				}
			}
		}
	}
	p.NextPollSeconds = int(max(poll, minPoll) / time.Second)
	return p
}

// statusRow is a VM's status with one schedule, and the end of the last
// window that should hold a backup (for /metrics).
type statusRow struct {
	apiv1.ScheduleStatus
	windowEnd time.Time
}

// status is one row per enabled schedule and VM it selects (VMs known
// from the inventories and the catalogue), missed ones first.
func (v *scheduleView) status() []statusRow {
	known := map[vmKey]bool{}
	for _, inv := range v.inv {
		for _, vm := range inv.VMs {
			known[vmKey{inv.Host, vm.Name}] = true
		}
	}
	for k := range v.last {
		known[k] = true
	}
	for k := range v.failed { // a VM that only ever failed is scheduled too
		known[k] = true
	}
	var rows []statusRow
	for k := range known {
		last := v.last[k]
		for _, sc := range v.schedules {
			if !sc.Enabled || !sc.when.Matches(k.host, k.vm) {
				continue
			}
			row := statusRow{ScheduleStatus: apiv1.ScheduleStatus{Schedule: sc.Name, Host: k.host, VM: k.vm,
				LastSuccess: utcPtr(last), LastFailure: utcPtr(v.failed[k]), Missed: sc.when.Missed(v.now, last)}}
			if w, ok := sc.when.CurrentWindow(v.now, last); ok {
				row.WindowStart = utcPtr(w.Start)
			}
			if w, ok := sc.when.LastWindow(v.now, last); ok {
				row.windowEnd = w.End
			}
			row.NextDue = utcPtr(sc.when.NextDue(v.now, last))
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Missed != b.Missed {
			return a.Missed
		}
		if a.Schedule != b.Schedule {
			return a.Schedule < b.Schedule
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.VM < b.VM
	})
	return rows
}

// scheduleStatus answers GET /api/v1/schedules/status; a restore token
// of one host sees that host's rows.
func (s *Server) scheduleStatus(w http.ResponseWriter, r *http.Request) {
	host := ""
	if tok := caller(r); tok.Role == apiv1.RoleRestore {
		host = tok.Host
	}
	v, err := s.scheduleView(host)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.ScheduleStatusList{VMs: []apiv1.ScheduleStatus{}}
	for _, row := range v.status() {
		if host == "" || row.Host == host {
			out.VMs = append(out.VMs, row.ScheduleStatus)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func utcPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utc(t)
	return &u
}
