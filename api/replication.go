package api

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"golang.org/x/sync/semaphore"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/replicate"
	"github.com/shadowvault/shadowvault/repo"
)

// The source side of a sync: read-only routes under /api/v1/replication/
// for a replication (or admin) token. A replication token may use these
// and GET /api/v1/receipt-key, nothing else (every other route lists the
// roles it allows). Each request is bounded: a chunk request names at
// most apiv1.MaxChunksPerRequest IDs and holds one chunk in memory at a
// time, and at most replicationReads requests read the repository at
// once (more wait), so that a hostile token holder cannot make the server
// spend unbounded memory.

// replicationReads bounds the replication reads served at once.
const replicationReads = 8

func (s *Server) replicationRoutes(r chi.Router) {
	r.Use(allow(apiv1.RoleAdmin, apiv1.RoleReplication))
	r.Get("/info", s.replInfo)
	r.Get("/snapshots", s.replSnapshots)
	r.Get("/snapshots/{id}", s.replSnapshot)
	r.Get("/snapshots/{id}/writer-metadata", s.replWriterMetadata)
	r.Get("/diskmaps/{id}", s.replDiskMap)
	r.Post("/chunks", s.replChunks)
}

// replSlot takes one of the replication read slots, waiting for it.
func (s *Server) replSlot(ctx context.Context) (func(), error) {
	if err := s.replReads.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	return func() { s.replReads.Release(1) }, nil
}

func newReplReads() *semaphore.Weighted { return semaphore.NewWeighted(replicationReads) }

func (s *Server) replInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, replicate.InfoOf(s.repo))
}

func replSnapshotWire(m *repo.Manifest, protected bool) (apiv1.ReplicationSnapshot, error) {
	data, err := json.Marshal(m)
	return apiv1.ReplicationSnapshot{ID: m.ID, Protected: protected, Manifest: data}, err
}

func (s *Server) replSnapshots(w http.ResponseWriter, r *http.Request) {
	list, err := s.repo.Snapshots(repo.Filter{})
	if err != nil {
		writeError(w, r, err)
		return
	}
	prot, err := s.repo.Protected()
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.ReplicationSnapshots{Snapshots: make([]apiv1.ReplicationSnapshot, len(list))}
	for i, m := range list {
		if out.Snapshots[i], err = replSnapshotWire(m, prot[m.ID]); err != nil {
			writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) replSnapshot(w http.ResponseWriter, r *http.Request) {
	m, err := s.repo.Snapshot(chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	prot, err := s.repo.Protected()
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := replSnapshotWire(m, prot[m.ID])
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) replWriterMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := s.repo.Snapshot(chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	doc, err := s.repo.WriterMetadata(r.Context(), m)
	if errors.Is(err, repo.ErrNoWriterMetadata) {
		err = errf(http.StatusNotFound, apiv1.CodeNotFound, err.Error())
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	_, _ = w.Write(doc)
}

// replDiskMap serves a disk map in its logical form: decrypted, checked
// against its name, encoded (SVDM).
func (s *Server) replDiskMap(w http.ResponseWriter, r *http.Request) {
	id, err := chunk.ParseID(chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "not a disk map id"))
		return
	}
	if !s.repo.ReferencedDiskMap(id) {
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no snapshot references disk map "+id.String()))
		return
	}
	release, err := s.replSlot(r.Context())
	if err != nil {
		return // the client went away
	}
	defer release()
	data, err := replicate.LocalSource{R: s.repo}.DiskMap(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// replChunks streams the plaintext of the chunks asked for, one frame
// each (apiv1.ChunksRequest). Every ID is checked to be indexed before
// the answer starts; a read that fails part way cuts the stream.
func (s *Server) replChunks(w http.ResponseWriter, r *http.Request) {
	var req apiv1.ChunksRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > apiv1.MaxChunksPerRequest {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest,
			"ids: 1 to "+strconv.Itoa(apiv1.MaxChunksPerRequest)+" chunk IDs"))
		return
	}
	ids := make([]chunk.ID, len(req.IDs))
	for i, v := range req.IDs {
		id, err := chunk.ParseID(v)
		if err != nil {
			writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "ids: "+err.Error()))
			return
		}
		ids[i] = id
	}
	missing, err := s.repo.MissingChunks(ids)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(missing) > 0 {
		writeError(w, r, errf(http.StatusNotFound, apiv1.CodeNotFound, "no chunk "+missing[0].String()))
		return
	}
	release, err := s.replSlot(r.Context())
	if err != nil {
		return
	}
	defer release()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	var head [chunk.IDSize + 4]byte
	err = replicate.LocalSource{R: s.repo}.Chunks(r.Context(), ids, func(id chunk.ID, data []byte) error {
		copy(head[:], id[:])
		binary.BigEndian.PutUint32(head[chunk.IDSize:], uint32(len(data)))
		if _, err := w.Write(head[:]); err != nil {
			return err
		}
		_, err := w.Write(data)
		return err
	})
	if err != nil && r.Context().Err() == nil {
		logger(r).Error("replication: chunk stream cut", "err", err)
		panic(http.ErrAbortHandler) // the client sees a truncated stream, never a short one that looks whole
	}
}
