package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

// maintenanceTimeout bounds a rebuild or check that goes on after its
// client left: a rebuild must not stop half way because a client did.
const maintenanceTimeout = 2 * time.Hour

// repairIndex rebuilds the index and the catalogue from the backend:
// POST /api/v1/repair/index. It answers 409 REPOSITORY_BUSY while sessions
// are open.
func (s *Server) repairIndex(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), maintenanceTimeout)
	defer cancel()
	st, err := s.repo.RebuildIndex(ctx)
	if errors.Is(err, repo.ErrBusy) {
		err = errf(http.StatusConflict, apiv1.CodeBusy, err.Error()+"; retry when the backups in flight are done")
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	logger(r).Info("index rebuilt", "packs", st.Packs, "chunks", st.Chunks, "snapshots", st.Snapshots, "skipped", len(st.Skipped))
	writeJSON(w, http.StatusOK, RebuildResult(st))
}

// repairVersions gives the objects the catalogue needs their locked
// version back: POST /api/v1/repair/versions.
func (s *Server) repairVersions(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), maintenanceTimeout)
	defer cancel()
	res, err := s.repo.RevertLocked(ctx)
	if errors.Is(err, repo.ErrNotLocked) {
		err = errf(http.StatusConflict, apiv1.CodeNotLocked, err.Error())
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.RevertResult{Reverted: map[string]int{}, Seconds: res.Seconds}
	for t, n := range res.Reverted {
		out.Reverted[string(t)] = n
	}
	writeJSON(w, http.StatusOK, out)
}

// check checks the repository: POST /api/v1/check. It answers 200 whether
// or not damage was found; "ok" tells which, and "damaged" names each
// snapshot disk that cannot be restored in full.
func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var req apiv1.CheckRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if req.ReadDataPercent < 0 || req.ReadDataPercent > 100 {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "read_data_percent must be between 0 and 100"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), maintenanceTimeout)
	defer cancel()
	res, err := s.repo.RunCheck(ctx, repo.CheckOptions{ReadDataPercent: req.ReadDataPercent})
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !res.OK {
		logger(r).Warn("check found problems", "damaged_disks", len(res.Damaged), "problems", len(res.Problems))
	}
	writeJSON(w, http.StatusOK, apiv1.CheckResponse{CheckResult: checkResultToWire(res),
		ReadDataPercent: req.ReadDataPercent, DataRead: req.ReadDataPercent > 0})
}
