package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/diskmap"
)

// maxHintsBody caps a hints body: about 2 million boundaries in JSON.
const maxHintsBody = 64 << 20

// putHints takes the guest hints for a disk, before its upload.
func (s *Server) putHints(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := validName("disk", name); err != nil {
		writeError(w, r, err)
		return
	}
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	var req apiv1.HintsRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxHintsBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, errf(http.StatusRequestEntityTooLarge, apiv1.CodeBodyTooLarge, "hints over 64 MiB"))
			return
		}
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadHints, "invalid hints JSON: "+err.Error()))
		return
	}
	h := &diskmap.Hints{Cuts: req.Boundaries}
	if req.ExcludeFree {
		h.Free = req.Free
	}
	if err := h.Normalize(); err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadHints, err.Error()))
		return
	}
	if err := sess.SetHints(name, h); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.HintsResult{Disk: name, Boundaries: len(h.Cuts), FreeRanges: len(h.Free)})
}
