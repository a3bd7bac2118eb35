package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo"
)

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := validName("policy", name); err != nil {
		writeError(w, r, err)
		return
	}
	var p apiv1.Policy
	if err := decodeJSON(w, r, &p); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.repo.PutPolicy(name, policyFromWire(p)); err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, apiv1.NamedPolicy{Name: name, Policy: p})
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
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no policy "+name))
		return
	}
	writeJSON(w, http.StatusOK, policyToWire(p))
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	all, err := s.repo.Policies()
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.PolicyList{Policies: make(map[string]apiv1.Policy, len(all))}
	for name, p := range all {
		out.Policies[name] = policyToWire(p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := s.repo.DeletePolicy(name); errors.Is(err, index.ErrNotFound) {
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no policy "+name))
		return
	} else if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.PolicyDeleted{Name: name, Deleted: true})
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
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "body must be true or false"))
		return
	}
	if err := s.repo.SetProtected(r.Context(), m.ID, on); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.SnapshotProtected{Snapshot: m.ID, Protected: on})
}

func (s *Server) forget(w http.ResponseWriter, r *http.Request) {
	var req apiv1.ForgetRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.repo.Forget(r.Context(), forgetFromWire(req))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, forgetResultToWire(res))
}

func (s *Server) prune(w http.ResponseWriter, r *http.Request) {
	var req apiv1.PruneRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if req.RepackBelow < 0 || req.RepackBelow > 1 {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "repack_below must be between 0 and 1 (0: the default 0.7)"))
		return
	}
	o := repo.PruneOptions{RepackBelow: req.RepackBelow}
	if req.Grace != "" {
		d, err := parseDuration(req.Grace)
		if err != nil {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "grace: "+err.Error()))
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
	writeJSON(w, http.StatusOK, apiv1.PruneResult(res))
}
