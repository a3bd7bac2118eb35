package api

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/ingest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/restore"
	"github.com/shadowvault/shadowvault/vhd"
)

// commitTimeout bounds a complete that goes on after its client left.
const commitTimeout = 30 * time.Minute

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var req apiv1.SessionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.BackupType == "" {
		req.BackupType = apiv1.BackupFull
	}
	if req.Consistency == "" {
		req.Consistency = apiv1.ConsistencyCrash // nothing says VSS writers prepared the guest
	}
	var err error
	switch {
	case validName("host", req.Host) != nil:
		err = validName("host", req.Host)
	case validName("vm", req.VM) != nil:
		err = validName("vm", req.VM)
	case !req.BackupType.Valid():
		err = errf(http.StatusBadRequest, apiv1.CodeBadRequest, `backup_type must be "full" or "copy"`)
	case !req.Consistency.Valid():
		err = errf(http.StatusBadRequest, apiv1.CodeBadRequest, `consistency must be "application" or "crash"`)
	case req.Schedule != "" && validName("schedule", req.Schedule) != nil:
		err = validName("schedule", req.Schedule)
	default:
		err = validDiskList(req.Disks)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	tok := caller(r)
	if tok.Role == apiv1.RoleAgent && tok.Host != req.Host {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "this agent token may only back up host "+tok.Host))
		return
	}
	sess, err := s.repo.OpenSession(repo.SessionInfo{
		Host: req.Host, VM: req.VM, BackupType: req.BackupType, Consistency: req.Consistency,
		Writers: req.Writers, Disks: req.Disks, Owner: tok.ID, Schedule: req.Schedule,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.Session{
		ID: sess.ID, Host: req.Host, VM: req.VM, BackupType: req.BackupType,
		Consistency: req.Consistency, Created: sess.Created, Disks: req.Disks,
	})
}

// session finds the session in the URL and checks the caller owns it.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*repo.Session, bool) {
	sess, err := s.repo.Session(chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return nil, false
	}
	tok := caller(r)
	if tok.Role != apiv1.RoleAdmin && sess.Info.Owner != tok.ID {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "session belongs to another token"))
		return nil, false
	}
	return sess, true
}

func (s *Server) putDisk(w http.ResponseWriter, r *http.Request) {
	done, ok := s.beginUpload(w, r)
	if !ok {
		return
	}
	defer done()
	name := chi.URLParam(r, "name")
	if err := validName("disk", name); err != nil {
		writeError(w, r, err)
		return
	}
	var format vhd.Format
	if f := r.URL.Query().Get("format"); f != "" && f != "auto" {
		var err error
		if format, err = vhd.ParseFormat(f); err != nil {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, err.Error()))
			return
		}
	}
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	rctID := r.URL.Query().Get("rct_id")
	if rctID != "" && !apiv1.ValidRCTID(rctID) {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "rct_id: printable ASCII without spaces, 256 bytes at most"))
		return
	}
	_, incremental := r.URL.Query()["base"]
	var base *restore.Disk
	var baseID, boundary string
	if incremental {
		var err error
		if format != 0 {
			err = errf(http.StatusBadRequest, apiv1.CodeBadRequest, "an incremental upload is virtual content: no format")
		} else {
			base, baseID, boundary, err = s.incrementalBase(r, sess, name)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
	}
	up, err := sess.BeginDisk(name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The bytes received are the job's progress.
	job := sess.Job()
	job.AddTotal(r.ContentLength)
	r.Body = progressBody{ReadCloser: r.Body, job: job}
	var res *ingest.Result
	if incremental {
		res, err = s.ingestIncremental(w, r, up, base, boundary)
	} else {
		res, err = ingest.Disk(r.Context(), s.bodyReader(w, r), up, ingest.Options{
			Params: s.repo.Config().Chunker, IDs: s.repo.IDs(), Format: format,
			SpillDir: s.opts.SpillDir, SpillLimit: s.opts.SpillLimit, Hints: sess.Hints(name),
		})
	}
	if err != nil {
		up.Cancel(err)
		logger(r).Warn("disk upload failed", "session", sess.ID, "disk", name, "err", err)
		writeError(w, r, err)
		return
	}
	d := &repo.Disk{Format: res.Format, Map: res.Map, Container: res.Container, Guest: res.Guest,
		StreamBytes: res.StreamBytes, StreamBLAKE3: res.StreamBLAKE3, Base: baseID, Changed: res.Changed, RCTID: rctID}
	if err := up.Finish(d); err != nil {
		writeError(w, r, err)
		return
	}
	s.m.streamed.Add(float64(res.StreamBytes))
	s.m.newBytes.Add(float64(d.NewBytes))
	logger(r).Info("disk received", "session", sess.ID, "disk", name, "format", res.Format,
		"virtual_size", res.Map.VirtualSize, "stream_bytes", res.StreamBytes, "new_bytes", d.NewBytes, "chunks", res.Chunks)
	writeJSON(w, http.StatusOK, apiv1.DiskSummary{
		Disk: apiv1.Disk{Name: name, Format: res.Format.String(), VirtualSize: res.Map.VirtualSize, StreamBytes: res.StreamBytes,
			StreamBLAKE3: res.StreamBLAKE3, NewBytes: d.NewBytes, StoredBytes: d.StoredBytes,
			Base: baseID, ChangedBytes: res.Changed}, Chunks: res.Chunks,
		HasParent: d.Container.HasParent, ParentID: d.Container.ParentID,
	})
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	sess, err := s.repo.Session(id)
	if err == nil {
		tok := caller(r)
		if tok.Role != apiv1.RoleAdmin && sess.Info.Owner != tok.ID {
			writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "session belongs to another token"))
			return
		}
	}
	// The commit does not stop when the client goes away: a retried
	// complete then finds the receipt.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), commitTimeout)
	defer cancel()
	rc, err := s.repo.CompleteSession(ctx, id)
	if err != nil {
		s.m.completed.WithLabelValues("failed").Inc()
		writeError(w, r, err)
		return
	}
	s.m.completed.WithLabelValues("completed").Inc()
	if tok := caller(r); tok.Role == apiv1.RoleAgent && rc.Host != tok.Host {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "session belongs to another host"))
		return
	}
	s.precomputeDigests(rc.Snapshot)
	writeJSON(w, http.StatusOK, rc)
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	if err := sess.Abort(); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.AbortResult{ID: sess.ID, Aborted: true})
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.SessionList{Sessions: sessionsToWire(s.repo.Sessions())})
}

// progressBody counts what a disk upload reads as its job's progress.
type progressBody struct {
	io.ReadCloser
	job *repo.JobRun
}

func (b progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.job.AddProgress(int64(n))
	return n, err
}
