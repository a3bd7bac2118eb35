package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/schedule"
)

// A schedule is stored as its apiv1.ScheduleSpec (JSON), checked here
// before it is stored and parsed again whenever it is used.

// storedSchedule is a stored schedule and its parsed form.
type storedSchedule struct {
	apiv1.Schedule
	when *schedule.Schedule
}

// scheduleSpec is the schedule package's view of a wire schedule.
func scheduleSpec(s apiv1.ScheduleSpec) schedule.Spec {
	sp := schedule.Spec{Hosts: s.Hosts, VMs: s.VMs, Interval: s.Interval}
	if w := s.Window; w != nil {
		sp.HasWindow, sp.Days, sp.Start, sp.End, sp.TimeZone = true, w.Days, w.Start, w.End, w.TimeZone
	}
	return sp
}

// checkSchedule parses a schedule and checks what it names: 400
// BAD_SCHEDULE for what does not parse, UNKNOWN_POLICY for a policy that
// is not stored.
func (s *Server) checkSchedule(spec *apiv1.ScheduleSpec) (*schedule.Schedule, error) {
	if spec.BackupType == "" {
		spec.BackupType = apiv1.BackupFull
	}
	if !spec.BackupType.Valid() {
		return nil, errf(http.StatusBadRequest, apiv1.CodeBadSchedule, fmt.Sprintf("backup_type %q: want full or copy", spec.BackupType))
	}
	when, err := schedule.Parse(scheduleSpec(*spec))
	if err != nil {
		return nil, errf(http.StatusBadRequest, apiv1.CodeBadSchedule, err.Error())
	}
	if spec.Policy != "" {
		all, err := s.repo.Policies()
		if err != nil {
			return nil, err
		}
		if _, ok := all[spec.Policy]; !ok {
			return nil, errf(http.StatusBadRequest, apiv1.CodeUnknownPolicy, "no retention policy "+spec.Policy)
		}
	}
	return when, nil
}

// schedules returns the stored schedules, ordered by name. A record that
// no longer parses is logged and left out.
func (s *Server) schedules() ([]storedSchedule, error) {
	var out []storedSchedule
	err := s.repo.Schedules(func(name string, rec []byte) error {
		var spec apiv1.ScheduleSpec
		if err := json.Unmarshal(rec, &spec); err != nil {
			s.log.Warn("skipping a damaged schedule record", "schedule", name, "err", err)
			return nil
		}
		when, err := schedule.Parse(scheduleSpec(spec))
		if err != nil {
			s.log.Warn("skipping a schedule that does not parse", "schedule", name, "err", err)
			return nil
		}
		out = append(out, storedSchedule{Schedule: apiv1.Schedule{Name: name, ScheduleSpec: spec}, when: when})
		return nil
	})
	return out, err
}

func (s *Server) putSchedule(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := validName("schedule", name); err != nil {
		writeError(w, r, err)
		return
	}
	spec := apiv1.ScheduleSpec{Enabled: true, BackupType: apiv1.BackupFull}
	if err := decodeJSON(w, r, &spec); err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := s.checkSchedule(&spec); err != nil {
		writeError(w, r, err)
		return
	}
	rec, _ := json.Marshal(spec)
	if err := s.repo.PutSchedule(name, rec); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.Schedule{Name: name, ScheduleSpec: spec})
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) {
	all, err := s.schedules()
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.ScheduleList{Schedules: make([]apiv1.Schedule, len(all))}
	for i, sc := range all {
		out.Schedules[i] = sc.Schedule
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) {
	all, err := s.schedules()
	if err != nil {
		writeError(w, r, err)
		return
	}
	name := chi.URLParam(r, "name")
	for _, sc := range all {
		if sc.Name == name {
			writeJSON(w, http.StatusOK, sc.Schedule)
			return
		}
	}
	writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no schedule "+name))
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := s.repo.DeleteSchedule(name); errors.Is(err, index.ErrNotFound) {
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no schedule "+name))
		return
	} else if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.ScheduleDeleted{Name: name, Deleted: true})
}
