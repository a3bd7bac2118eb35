package api

import (
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

// The job history: GET /api/v1/jobs (filtered, newest first, with the
// maintenance jobs' status) and GET /api/v1/jobs/{id} (one job and its
// log). An admin, or a restore token without a host, sees every job; a
// restore token of a host sees only that host's jobs, and no maintenance.

func (s *Server) jobs(w http.ResponseWriter, r *http.Request) {
	f, err := parseJobFilter(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	tok := caller(r)
	scoped := tok.Role != apiv1.RoleAdmin && tok.Host != ""
	if scoped {
		if f.Host != "" && !globMatch(f.Host, tok.Host) {
			writeJSON(w, http.StatusOK, apiv1.JobList{Jobs: []apiv1.JobRecord{}, Maintenance: []apiv1.Job{}})
			return
		}
		f.Host = tok.Host
	}
	list, err := s.repo.History().List(f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.JobList{Jobs: make([]apiv1.JobRecord, len(list)), Maintenance: []apiv1.Job{}}
	for i, rec := range list {
		out.Jobs[i] = jobRecordToWire(rec)
	}
	if !scoped {
		out.Maintenance = jobsToWire(s.repo.Jobs().Status())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	rec, lines, err := s.repo.History().Get(r.Context(), id)
	if tok := caller(r); err == nil && tok.Role != apiv1.RoleAdmin && tok.Host != "" && rec.Host != tok.Host {
		err = errf(http.StatusNotFound, apiv1.CodeJobNotFound, "no job "+id) // as if it did not exist
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.JobDetail{JobRecord: jobRecordToWire(rec), Log: make([]apiv1.JobLogLine, len(lines))}
	for i, l := range lines {
		out.Log[i] = apiv1.JobLogLine(l)
	}
	writeJSON(w, http.StatusOK, out)
}

// parseJobFilter reads the query of GET /api/v1/jobs; a bad value is 400
// BAD_REQUEST naming the parameter.
func parseJobFilter(q url.Values) (repo.JobFilter, error) {
	var f repo.JobFilter
	bad := func(param, why string) error {
		return errf(http.StatusBadRequest, apiv1.CodeBadRequest, param+": "+why)
	}
	for param := range q {
		switch param {
		case "kind", "host", "vm", "result", "since", "until", "limit":
		default:
			return f, bad(param, "unknown parameter (kind, host, vm, result, since, until, limit)")
		}
	}
	var err error
	if v := q.Get("kind"); v != "" {
		if f.Kind, err = repo.ParseJobKind(v); err != nil {
			return f, bad("kind", err.Error())
		}
	}
	if v := q.Get("result"); v != "" {
		if f.Result, err = repo.ParseJobResult(v); err != nil {
			return f, bad("result", err.Error())
		}
	}
	for _, p := range []struct {
		param string
		dst   *string
	}{{"host", &f.Host}, {"vm", &f.VM}} {
		v := q.Get(p.param)
		if _, err := path.Match(v, ""); err != nil || len(v) > 256 {
			return f, bad(p.param, "not a name or a glob")
		}
		*p.dst = v
	}
	for _, p := range []struct {
		param string
		dst   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.param); v != "" {
			if *p.dst, err = time.Parse(time.RFC3339, v); err != nil {
				return f, bad(p.param, "not an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, bad("until", "not after since")
	}
	f.Limit = repo.DefaultJobLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > repo.MaxJobLimit {
			return f, bad("limit", "a number from 1 to "+strconv.Itoa(repo.MaxJobLimit))
		}
		f.Limit = n
	}
	return f, nil
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

func jobRecordToWire(rec repo.JobRecord) apiv1.JobRecord {
	out := apiv1.JobRecord{
		ID: rec.ID, Kind: apiv1.JobKind(rec.Kind.String()), Trigger: apiv1.JobTrigger(rec.Trigger.String()),
		Schedule: rec.Schedule, Host: rec.Host, VM: rec.VM, SessionID: rec.SessionID, SnapshotID: rec.SnapshotID,
		Start: rec.Start, End: rec.End, Result: apiv1.JobResult(rec.Result.String()), Error: rec.Error,
		Bytes: rec.Bytes, NewBytes: rec.NewBytes,
	}
	if rec.Result == repo.JobRunning && rec.Kind != repo.JobSync {
		out.Progress = &apiv1.JobProgress{BytesDone: rec.BytesDone, BytesTotal: rec.BytesTotal}
	}
	if st := rec.Sync; st != nil {
		out.Sync = &apiv1.SyncStats{Source: st.Source, URL: st.URL, Snapshots: st.Snapshots, SnapshotsSkipped: st.SnapshotsSkipped,
			ChunksSent: st.ChunksSent, ChunksSkipped: st.ChunksSkipped, BytesSent: st.BytesSent, BytesStored: st.BytesStored,
			DisksVerified: st.DisksVerified}
	}
	return out
}
