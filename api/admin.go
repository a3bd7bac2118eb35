package api

import (
	"encoding/hex"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/repo"
)

func (s *Server) receiptKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"receipt_key": hex.EncodeToString(s.repo.PublicKey())})
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	chunks, packs, packBytes, err := s.repo.Counts()
	if err != nil {
		writeError(w, r, err)
		return
	}
	snaps, err := s.repo.Snapshots(repo.Filter{})
	if err != nil {
		writeError(w, r, err)
		return
	}
	var logical, streamed int64
	for _, m := range snaps {
		logical += m.LogicalBytes()
		for _, d := range m.Disks {
			streamed += d.StreamBytes
		}
	}
	ratio := 0.0
	if packBytes > 0 {
		ratio = float64(logical) / float64(packBytes)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"logical_bytes": logical, "stream_bytes": streamed, "stored_bytes": packBytes,
		"dedup_ratio": ratio, "chunks": chunks, "packs": packs, "snapshots": len(snaps),
		"sessions_open": len(s.repo.Sessions()),
	})
}

type tokenRequest struct {
	Role string `json:"role"`
	Host string `json:"host"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	tok, plain, err := s.tokens.Create(req.Role, req.Host)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": tok.ID, "role": tok.Role, "host": tok.Host, "token": plain,
		"receipt_key": hex.EncodeToString(s.repo.PublicKey()),
	})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.tokens.List()
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": list})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.tokens.Revoke(chi.URLParam(r, "id")); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": chi.URLParam(r, "id"), "revoked": true})
}
