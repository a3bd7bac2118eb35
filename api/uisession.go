package api

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/ui"
)

// The dashboard's login: POST /ui/login checks a token with the same
// store as the API and opens a session (package ui); the cookie then
// authenticates /api/v1 requests with the role of the token behind it
// (authenticateCookie). The token's secret is only ever in the login
// body: never in a URL, a page, a cookie or a log line.

// uiLogin opens a dashboard session: 200 with the session, 401 for a
// wrong token, 403 for an agent token (or a login posted from another
// origin).
func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	ui.SecurityHeaders(w.Header())
	if !sameOrigin(r) {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeCSRFFailed, "login from another origin"))
		return
	}
	plain, form, err := loginToken(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	tok, err := s.tokens.Check(strings.TrimSpace(plain))
	if err != nil {
		writeError(w, r, errf(http.StatusUnauthorized, apiv1.CodeUnauthorized, "invalid or revoked token"))
		return
	}
	if tok.Role != apiv1.RoleAdmin && tok.Role != apiv1.RoleRestore {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden,
			"a "+string(tok.Role)+" token cannot log in to the dashboard (use an admin or restore token)"))
		return
	}
	sess, err := s.ui.Create(tok.ID, string(tok.Role))
	if err != nil {
		writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ui.CookieName, Value: sess.ID, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	logger(r).Info("dashboard login", "token_id", tok.ID, "role", tok.Role)
	if form {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, s.uiSessionWire(sess, tok))
}

// loginToken reads the token from a JSON body or a form; form tells which.
func loginToken(w http.ResponseWriter, r *http.Request) (plain string, form bool, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, maxJSON)
		if err := r.ParseForm(); err != nil {
			return "", true, errf(http.StatusBadRequest, apiv1.CodeBadRequest, "bad form body")
		}
		return r.PostForm.Get("token"), true, nil
	}
	var body apiv1.UILogin
	if err := decodeJSON(w, r, &body); err != nil {
		return "", false, err
	}
	return body.Token, false, nil
}

// uiLogout ends the session of the cookie (it needs its CSRF token) and
// clears the cookie: 204.
func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request) {
	ui.SecurityHeaders(w.Header())
	c, err := r.Cookie(ui.CookieName)
	if err == nil {
		if sess, err := s.ui.Get(c.Value); err == nil {
			if !sameOrigin(r) || !sess.CheckCSRF(r.Header.Get(ui.CSRFHeader)) {
				writeError(w, r, errf(http.StatusForbidden, apiv1.CodeCSRFFailed, "logout needs the session's "+ui.CSRFHeader+" header"))
				return
			}
			s.ui.Delete(sess.ID)
			logger(r).Info("dashboard logout", "token_id", sess.TokenID)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: ui.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// uiSession answers who the cookie's session is (and its CSRF token, which
// the page cannot read from the HttpOnly cookie), or that there is none
// (logged_in false): the page asks it first, before it has a session.
func (s *Server) uiSession(w http.ResponseWriter, r *http.Request) {
	ui.SecurityHeaders(w.Header())
	sess, tok, err := s.cookieSession(r)
	if err != nil {
		writeJSON(w, http.StatusOK, apiv1.UISession{})
		return
	}
	writeJSON(w, http.StatusOK, s.uiSessionWire(sess, tok))
}

func (s *Server) uiSessionWire(sess ui.Session, tok Token) apiv1.UISession {
	idle, max := s.ui.Lifetimes()
	return apiv1.UISession{LoggedIn: true, Role: tok.Role, TokenID: tok.ID, Host: tok.Host, ReadOnly: tok.Role != apiv1.RoleAdmin,
		CSRFToken: sess.CSRF, Created: sess.Created, Expires: sess.Expires(idle, max),
		IdleSeconds: int64(idle.Seconds()), MaxSeconds: int64(max.Seconds())}
}

// cookieSession returns the live session of the request's cookie and the
// token behind it; a session whose token is gone ends (401).
func (s *Server) cookieSession(r *http.Request) (ui.Session, Token, error) {
	c, err := r.Cookie(ui.CookieName)
	if err != nil || c.Value == "" {
		return ui.Session{}, Token{}, errf(http.StatusUnauthorized, apiv1.CodeUnauthorized, "not logged in")
	}
	sess, err := s.ui.Get(c.Value)
	if err != nil {
		return ui.Session{}, Token{}, errf(http.StatusUnauthorized, apiv1.CodeUnauthorized, "session expired or logged out")
	}
	tok, err := s.tokens.ByID(sess.TokenID)
	if err != nil {
		s.ui.Delete(sess.ID)
		return ui.Session{}, Token{}, errf(http.StatusUnauthorized, apiv1.CodeUnauthorized, "the session's token was revoked")
	}
	return sess, tok, nil
}

// authenticateCookie authenticates an API request by the dashboard's
// session cookie. An unsafe method must come from this origin and carry
// the session's CSRF token (403 CSRF_FAILED), and a restore session may
// not use one at all (403 FORBIDDEN): it is read-only.
func (s *Server) authenticateCookie(w http.ResponseWriter, r *http.Request, next http.Handler) {
	sess, tok, err := s.cookieSession(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if unsafeMethod(r.Method) {
		if !sameOrigin(r) {
			writeError(w, r, errf(http.StatusForbidden, apiv1.CodeCSRFFailed, "request from another origin"))
			return
		}
		if !sess.CheckCSRF(r.Header.Get(ui.CSRFHeader)) {
			writeError(w, r, errf(http.StatusForbidden, apiv1.CodeCSRFFailed, "missing or wrong "+ui.CSRFHeader+" header"))
			return
		}
		if tok.Role != apiv1.RoleAdmin {
			writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "a "+string(tok.Role)+" dashboard session is read-only"))
			return
		}
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyToken, tok)))
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// sameOrigin reports whether a browser request comes from this server's
// pages: Sec-Fetch-Site, when sent, is same-origin (or none: typed by the
// user), and Origin, when sent, names this host. Requests without either
// (not from a browser) pass: the CSRF token still guards them.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}
