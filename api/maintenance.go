package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
)

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := validName("policy", name); err != nil {
		writeError(w, r, err)
		return
	}
	var p repo.Policy
	if err := decodeJSON(w, r, &p); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.repo.PutPolicy(name, p); err != nil {
		writeError(w, r, errf(http.StatusBadRequest, CodeBadRequest, err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "policy": p})
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	all, err := s.repo.Policies()
	if err != nil {
		writeError(w, r, err)
		return
	}
	name := chi.URLParam(r, "name")
	p, ok := all[name]
	if !ok {
		writeError(w, r, errf(http.StatusNotFound, CodeNotFound, "no policy "+name))
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	all, err := s.repo.Policies()
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": all})
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := s.repo.DeletePolicy(name); errors.Is(err, index.ErrNotFound) {
		writeError(w, r, errf(http.StatusNotFound, CodeNotFound, "no policy "+name))
		return
	} else if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "deleted": true})
}

// setProtected takes a body of true or false.
func (s *Server) setProtected(w http.ResponseWriter, r *http.Request) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64))
	var on bool
	if err == nil {
		err = json.Unmarshal([]byte(strings.TrimSpace(string(body))), &on)
	}
	if err != nil {
		writeError(w, r, errf(http.StatusBadRequest, CodeBadRequest, "body must be true or false"))
		return
	}
	if err := s.repo.SetProtected(r.Context(), m.ID, on); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshot": m.ID, "protected": on})
}

func (s *Server) forget(w http.ResponseWriter, r *http.Request) {
	var req repo.ForgetRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.repo.Forget(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type pruneRequest struct {
	RepackBelow float64 `json:"repack_below"`
	Grace       string  `json:"grace"`
}

func (s *Server) prune(w http.ResponseWriter, r *http.Request) {
	var req pruneRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if req.RepackBelow < 0 || req.RepackBelow > 1 {
		writeError(w, r, errf(http.StatusBadRequest, CodeBadRequest, "repack_below must be between 0 and 1 (0: the default 0.7)"))
		return
	}
	o := repo.PruneOptions{RepackBelow: req.RepackBelow}
	if req.Grace != "" {
		d, err := parseDuration(req.Grace)
		if err != nil {
			writeError(w, r, errf(http.StatusBadRequest, CodeBadRequest, "grace: "+err.Error()))
			return
		}
		o.Grace = d
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), maintenanceTimeout)
	defer cancel()
	res, err := s.repo.RunPrune(ctx, o)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"jobs": s.repo.Jobs().Status()})
}
