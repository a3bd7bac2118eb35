package api

import (
	"encoding/hex"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
)

func (s *Server) receiptKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.ReceiptKey{Key: hex.EncodeToString(s.repo.PublicKey())})
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
	st := apiv1.Stats{
		LogicalBytes: logical, StreamBytes: streamed, StoredBytes: packBytes,
		DedupRatio: ratio, Chunks: chunks, Packs: packs, Snapshots: len(snaps),
		SessionsOpen: len(s.repo.Sessions()),
	}
	if cs, ok := s.repo.ClusterStats(); ok {
		c := apiv1.ClusterStats(cs)
		st.Cluster = &c
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req apiv1.TokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	tok, plain, err := s.tokens.Create(req.Role, req.Host)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.TokenCreated{
		ID: tok.ID, Role: tok.Role, Host: tok.Host, Token: plain,
		ReceiptKey: hex.EncodeToString(s.repo.PublicKey()),
	})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.tokens.List()
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.TokenList{Tokens: make([]apiv1.Token, len(list))}
	for i, t := range list {
		out.Tokens[i] = t.Token
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.tokens.Revoke(chi.URLParam(r, "id")); err != nil {
		writeError(w, r, err)
		return
	}
	// Its dashboard sessions end with it (a session also checks its token
	// at every request).
	s.ui.EndToken(chi.URLParam(r, "id"))
	writeJSON(w, http.StatusOK, apiv1.TokenRevoked{ID: chi.URLParam(r, "id"), Revoked: true})
}
