package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

// putWriterMetadata keeps the VSS writer metadata document of a session
// (diskshadow's backup .cab, up to 16 MiB), stored with its snapshot:
// PUT /api/v1/sessions/{id}/writer-metadata.
func (s *Server) putWriterMetadata(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, repo.MaxWriterMetadata))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errf(http.StatusRequestEntityTooLarge, apiv1.CodeBodyTooLarge, "writer metadata over 16 MiB")
	}
	if err == nil {
		err = sess.SetWriterMetadata(doc)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.WriterMetadataResult{Session: sess.ID, Bytes: len(doc)})
}

// getWriterMetadata returns a snapshot's writer metadata document, to hand
// back to VSS at a restore: GET /api/v1/snapshots/{id}/writer-metadata.
func (s *Server) getWriterMetadata(w http.ResponseWriter, r *http.Request) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	doc, err := s.repo.WriterMetadata(r.Context(), m)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	_, _ = w.Write(doc)
}
