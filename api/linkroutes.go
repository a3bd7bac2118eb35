package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/restore"
)

// keyLink holds the link a request was authenticated by.
const keyLink ctxKey = 100

func requestLink(r *http.Request) (apiv1.Link, bool) {
	l, ok := r.Context().Value(keyLink).(apiv1.Link)
	return l, ok
}

// authenticateLink admits a GET or HEAD that carries a link's secret in
// the query instead of a bearer token, as the role roleLink limited to the
// link's host; restoreDisk then holds it to the link's disk and format.
func (s *Server) authenticateLink(w http.ResponseWriter, r *http.Request, next http.Handler, secret string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "a link is valid for GET and HEAD only"))
		return
	}
	l, err := s.tokens.CheckLink(secret, time.Now())
	switch {
	case errors.Is(err, errExpiredLink):
		writeError(w, r, errf(http.StatusUnauthorized, apiv1.CodeLinkExpired, "link "+l.ID+" expired"))
		return
	case err != nil:
		writeError(w, r, errf(http.StatusUnauthorized, apiv1.CodeUnauthorized, "invalid or revoked link"))
		return
	}
	tok := Token{Token: apiv1.Token{ID: l.ID, Role: roleLink, Host: l.Host}}
	ctx := context.WithValue(r.Context(), keyToken, tok)
	ctx = context.WithValue(ctx, keyLink, l)
	next.ServeHTTP(w, r.WithContext(ctx))
}

// linkAllows reports whether a request authenticated by a link asks for
// the link's own disk and format; requests with a token pass.
func linkAllows(w http.ResponseWriter, r *http.Request, snapshot, disk string, f restore.Format) bool {
	l, ok := requestLink(r)
	if !ok {
		return true
	}
	if snapshot != l.Snapshot || disk != l.Disk || f.String() != l.Format {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden,
			fmt.Sprintf("link %s opens disk %s of snapshot %s as %s only", l.ID, l.Disk, l.Snapshot, l.Format)))
		return false
	}
	return true
}

func (s *Server) createLink(w http.ResponseWriter, r *http.Request) {
	m, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	var req apiv1.LinkRequest
	if r.ContentLength != 0 { // an empty body asks for the defaults
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, err)
			return
		}
	}
	f, err := restore.ParseFormat(req.Format)
	if err != nil {
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "format must be original, raw, vhd or vhdx"))
		return
	}
	life := time.Duration(req.ExpiresIn) * time.Second
	switch {
	case req.ExpiresIn < 0 || life > apiv1.MaxLinkLifetime || req.ExpiresIn > int64(apiv1.MaxLinkLifetime/time.Second):
		writeError(w, r, errf(http.StatusBadRequest, apiv1.CodeBadRequest,
			fmt.Sprintf("expires_in must be between 1 and %d seconds", int64(apiv1.MaxLinkLifetime/time.Second))))
		return
	case life == 0:
		life = apiv1.DefaultLinkLifetime
	}
	name := chi.URLParam(r, "name")
	if _, err := restore.Open(r.Context(), s.maps, m, name, f); err != nil {
		writeError(w, r, err)
		return
	}
	l, secret, err := s.tokens.CreateLink(caller(r), m.ID, m.Host, name, f.String(), life)
	if err != nil {
		writeError(w, r, err)
		return
	}
	logger(r).Info("link created", "link", l.ID, "snapshot", m.ID, "disk", name, "format", l.Format, "expires", l.Expires)
	writeJSON(w, http.StatusCreated, apiv1.LinkCreated{Link: l, Path: linkPath(l, secret)})
}

func (s *Server) listLinks(w http.ResponseWriter, r *http.Request) {
	list, err := s.tokens.ListLinks(time.Now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.LinkList{Links: list})
}

func (s *Server) revokeLink(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := s.tokens.RevokeLink(id); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.LinkRevoked{ID: id, Revoked: true})
}
