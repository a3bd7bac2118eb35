package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/replicate"
	"github.com/shadowvault/shadowvault/repo"
)

// The target side of a sync: POST /api/v1/sync (admin) starts a job that
// pulls from a source server's replication routes into this repository,
// and answers 202 with the job's id at once; the job is followed in the
// job history (GET /api/v1/jobs/{id}: its sync figures and log). One sync
// per source URL runs at a time (409 SYNC_RUNNING).

// syncs are the sync jobs running, by source URL.
type syncs struct {
	mu      sync.Mutex
	running map[string]bool // guarded by mu
}

func (s *syncs) begin(source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = map[string]bool{}
	}
	if s.running[source] {
		return false
	}
	s.running[source] = true
	return true
}

func (s *syncs) end(source string) {
	s.mu.Lock()
	delete(s.running, source)
	s.mu.Unlock()
}

// maxSyncToken bounds the source token of a sync request.
const maxSyncToken = 4096

func (s *Server) startSync(w http.ResponseWriter, r *http.Request) {
	var req apiv1.SyncRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	id, err := s.beginSync(repo.TriggerOf(r.Context()), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, apiv1.SyncStarted{Job: id})
}

// beginSync checks req and starts its job, pulling from a source server
// into this repository or pushing this repository's snapshots to a
// target server, and returns the job's id.
func (s *Server) beginSync(trigger repo.JobTrigger, req apiv1.SyncRequest) (string, error) {
	o, err := syncOptions(req)
	if err != nil {
		return "", err
	}
	peer := req.Source
	var src replicate.Source = &replicate.HTTPSource{URL: req.Source, Token: req.SourceToken, HTTP: &http.Client{}}
	var dst replicate.Target = replicate.Local{R: s.repo}
	if req.Target != "" {
		peer = req.Target
		src = replicate.LocalSource{R: s.repo}
		dst = &replicate.HTTPTarget{HTTPSource: replicate.HTTPSource{URL: req.Target, Token: req.TargetToken, HTTP: &http.Client{}}}
	}
	if !s.syncs.begin(peer) {
		return "", errf(http.StatusConflict, apiv1.CodeSyncRunning, "a sync with "+peer+" is running")
	}
	job := s.repo.BeginSyncJob(trigger, peer)
	o.Logger = job.Logger()
	go func() {
		defer s.syncs.end(peer)
		s.runSync(context.Background(), job, src, dst, peer, req.RateLimit, o)
	}()
	return job.ID(), nil
}

// ScheduleSync runs the sync req every interval until ctx ends (serve
// --sync-job); a run still going when the next is due is not doubled.
func (s *Server) ScheduleSync(ctx context.Context, req apiv1.SyncRequest, every time.Duration) error {
	if every <= 0 {
		return errors.New("sync schedule: the interval must be positive")
	}
	if _, err := syncOptions(req); err != nil {
		return fmt.Errorf("sync schedule: %w", err)
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.beginSync(repo.TriggerSchedule, req); err != nil {
				s.log.Warn("scheduled sync not started", "source", req.Source, "target", req.Target, "err", err)
			}
		}
	}()
	return nil
}

// runSync runs one sync job to its end.
func (s *Server) runSync(ctx context.Context, job *repo.JobRun, src replicate.Source, dst replicate.Target, peer string, rate int64, o replicate.Options) {
	var last replicate.Stats
	var mu sync.Mutex
	o.Progress = func(st replicate.Stats) {
		mu.Lock()
		defer mu.Unlock()
		s.m.syncProgress(last, st)
		last = st
		job.SetSync(syncStatsToRepo(st, peer))
	}
	st, err := replicate.Run(ctx, src, dst, o, replicate.NewLimiter(rate))
	mu.Lock()
	s.m.syncProgress(last, st)
	mu.Unlock()
	rec := syncStatsToRepo(st, peer)
	fill := func(jr *repo.JobRecord) { jr.Sync, jr.Bytes, jr.NewBytes = &rec, rec.BytesSent, rec.BytesStored }
	if err != nil {
		job.Logger().Error("sync failed", "peer", peer, "err", err)
		job.End(repo.JobFailed, err, fill)
		return
	}
	job.End(repo.JobSuccess, nil, fill)
}

func syncStatsToRepo(st replicate.Stats, url string) repo.SyncStats {
	return repo.SyncStats{Source: st.Source, URL: url, Snapshots: st.Snapshots, SnapshotsSkipped: st.SnapshotsSkipped,
		ChunksSent: st.ChunksSent, ChunksSkipped: st.ChunksSkipped, BytesSent: st.BytesSent, BytesStored: st.BytesStored,
		DisksVerified: st.DisksVerified}
}

// syncOptions checks a sync request; a bad field is 400 BAD_REQUEST
// naming it.
func syncOptions(req apiv1.SyncRequest) (replicate.Options, error) {
	bad := func(field, why string) error {
		return errf(http.StatusBadRequest, apiv1.CodeBadRequest, field+": "+why)
	}
	var o replicate.Options
	peer, tok, field := req.Source, req.SourceToken, "source"
	if req.Target != "" {
		if req.Source != "" || req.SourceToken != "" {
			return o, bad("target", "a sync pulls from a source or pushes to a target, not both")
		}
		peer, tok, field = req.Target, req.TargetToken, "target"
	}
	u, err := url.Parse(peer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return o, bad(field, "not an http(s) URL of a server")
	}
	if tok == "" || len(tok) > maxSyncToken {
		return o, bad(field+"_token", "a token of the "+field+" server is required")
	}
	for _, g := range []struct{ field, v string }{{"host", req.Host}, {"vm", req.VM}} {
		if _, err := path.Match(g.v, ""); err != nil || len(g.v) > 256 {
			return o, bad(g.field, "not a name or a glob")
		}
	}
	if req.MaxAge != "" {
		d, err := time.ParseDuration(req.MaxAge)
		if err != nil || d <= 0 {
			return o, bad("max_age", "not a positive duration such as 720h")
		}
		o.MaxAge = d
	}
	if req.Parallel < 0 || req.Parallel > replicate.MaxParallel {
		return o, bad("parallel", "0 to 32")
	}
	if req.RateLimit < 0 {
		return o, bad("rate_limit", "bytes per second, 0 for no limit")
	}
	if req.Verify && req.Target != "" {
		return o, bad("verify", "a push cannot read its copy back: verify on the target (pull), or check it there")
	}
	o.Host, o.VM, o.Parallel, o.KeepProtected, o.Verify = req.Host, req.VM, req.Parallel, req.KeepProtected, req.Verify
	return o, nil
}
