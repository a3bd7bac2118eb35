package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/ui"
)

// uiReq sends one request to the server with the given cookie (session
// ID, "" for none) and headers; it returns the answer with its body read.
func uiReq(t *testing.T, base, method, path, cookie string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: ui.CookieName, Value: cookie})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// uiLogin logs in with a token and returns the session cookie and the
// answer.
func uiLogin(t *testing.T, base, token string) (*http.Cookie, apiv1.UISession) {
	t.Helper()
	body, _ := json.Marshal(apiv1.UILogin{Token: token})
	resp, b := uiReq(t, base, "POST", "/ui/login", "", body, map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	var sess apiv1.UISession
	if err := json.Unmarshal(b, &sess); err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == ui.CookieName {
			return c, sess
		}
	}
	t.Fatalf("login set no %s cookie: %v", ui.CookieName, resp.Header["Set-Cookie"])
	return nil, sess
}

func codeOf(b []byte) apiv1.Code {
	var e apiv1.ErrorBody
	_ = json.Unmarshal(b, &e)
	return e.Error.Code
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestUILoginCookie: a login sets a session cookie that is HttpOnly,
// SameSite=Strict, Path=/, Secure exactly over TLS, whose value is a
// random 256-bit ID and not the token; the answer's CSRF token is another.
func TestUILoginCookie(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	tlsSrv := httptest.NewTLSServer(s.HTTP.Config.Handler)
	defer tlsSrv.Close()
	for _, tc := range []struct {
		name   string
		base   string
		secure bool
	}{{"http", s.URL, false}, {"tls", tlsSrv.URL, true}} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(apiv1.UILogin{Token: s.AdminToken})
			req, _ := http.NewRequest("POST", tc.base+"/ui/login", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := tlsSrv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("login: %d %s", resp.StatusCode, b)
			}
			if bytes.Contains(b, []byte(s.AdminToken)) {
				t.Fatalf("the login answer holds the token: %s", b)
			}
			var c *http.Cookie
			for _, x := range resp.Cookies() {
				if x.Name == ui.CookieName {
					c = x
				}
			}
			if c == nil {
				t.Fatalf("no session cookie: %v", resp.Header["Set-Cookie"])
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tc.secure {
				t.Fatalf("cookie %q: HttpOnly %v SameSite %v Path %q Secure %v, want true Strict / %v",
					resp.Header.Get("Set-Cookie"), c.HttpOnly, c.SameSite, c.Path, c.Secure, tc.secure)
			}
			var sess apiv1.UISession
			_ = json.Unmarshal(b, &sess)
			if !hex64.MatchString(c.Value) || !hex64.MatchString(sess.CSRFToken) || c.Value == sess.CSRFToken ||
				strings.Contains(s.AdminToken, c.Value) {
				t.Fatalf("session ID %q, CSRF token %q: want two distinct 64-hex values, not the token", c.Value, sess.CSRFToken)
			}
			if !sess.LoggedIn || sess.Role != apiv1.RoleAdmin || sess.ReadOnly || sess.IdleSeconds != 12*3600 || sess.MaxSeconds != 24*3600 {
				t.Fatalf("session %+v", sess)
			}
		})
	}
	// Two logins are two sessions.
	a, _ := uiLogin(t, s.URL, s.AdminToken)
	b, _ := uiLogin(t, s.URL, s.AdminToken)
	if a.Value == b.Value {
		t.Fatal("two logins got the same session ID")
	}
}

// TestUILoginRefused: a wrong token, a link secret or a revoked token is
// 401; an agent token is 403; a login posted from another origin is 403
// CSRF_FAILED; none of them sets a cookie.
func TestUILoginRefused(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	_, agentTok, err := s.Tokens.Create(apiv1.RoleAgent, "HV01")
	if err != nil {
		t.Fatal(err)
	}
	revoked, revokedTok, _ := s.Tokens.Create(apiv1.RoleAdmin, "")
	if err := s.Tokens.Revoke(revoked.ID); err != nil {
		t.Fatal(err)
	}
	wrong := s.AdminToken[:len(s.AdminToken)-1] + "0"
	if wrong == s.AdminToken {
		wrong = s.AdminToken[:len(s.AdminToken)-1] + "1"
	}
	for _, tc := range []struct {
		name   string
		body   string
		hdr    map[string]string
		status int
		code   apiv1.Code
	}{
		{"wrong", `{"token":"` + wrong + `"}`, nil, 401, apiv1.CodeUnauthorized},
		{"empty", `{"token":""}`, nil, 401, apiv1.CodeUnauthorized},
		{"revoked", `{"token":"` + revokedTok + `"}`, nil, 401, apiv1.CodeUnauthorized},
		{"agent", `{"token":"` + agentTok + `"}`, nil, 403, apiv1.CodeForbidden},
		{"not json", `token`, nil, 400, apiv1.CodeBadRequest},
		{"other origin", `{"token":"` + s.AdminToken + `"}`, map[string]string{"Origin": "https://evil.example"}, 403, apiv1.CodeCSRFFailed},
		{"cross site", `{"token":"` + s.AdminToken + `"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, apiv1.CodeCSRFFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := uiReq(t, s.URL, "POST", "/ui/login", "", []byte(tc.body), tc.hdr)
			if resp.StatusCode != tc.status || codeOf(b) != tc.code || len(resp.Cookies()) != 0 {
				t.Fatalf("%d %s, cookies %v; want %d %s and no cookie", resp.StatusCode, b, resp.Cookies(), tc.status, tc.code)
			}
		})
	}
	// A form login works too and goes to the dashboard.
	resp, _ := uiReq(t, s.URL, "POST", "/ui/login", "", []byte("token="+s.AdminToken),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/ui/" || len(resp.Cookies()) != 1 {
		t.Fatalf("form login: %d to %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
}

// TestUICookieCSRF: the cookie authenticates API reads; every unsafe
// method with the cookie needs the session's CSRF token (missing, wrong,
// another session's, and from another origin: 403 CSRF_FAILED, nothing
// done), while Bearer-authenticated calls need none.
func TestUICookieCSRF(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c, sess := uiLogin(t, s.URL, s.AdminToken)
	_, other := uiLogin(t, s.URL, s.AdminToken)
	if resp, b := uiReq(t, s.URL, "GET", "/api/v1/stats", c.Value, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET stats with the cookie: %d %s", resp.StatusCode, b)
	}
	if resp, b := uiReq(t, s.URL, "GET", "/api/v1/stats", strings.Repeat("0", 64), nil, nil); resp.StatusCode != 401 {
		t.Fatalf("GET stats with an unknown session: %d %s", resp.StatusCode, b)
	}
	tokenCount := func() int {
		list, err := s.Tokens.List()
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := tokenCount()
	create := []byte(`{"role":"agent","host":"HV07"}`)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"no header", nil},
		{"empty", map[string]string{ui.CSRFHeader: ""}},
		{"wrong", map[string]string{ui.CSRFHeader: strings.Repeat("a", 64)}},
		{"prefix", map[string]string{ui.CSRFHeader: sess.CSRFToken[:63]}},
		{"other session's", map[string]string{ui.CSRFHeader: other.CSRFToken}},
		{"other origin", map[string]string{ui.CSRFHeader: sess.CSRFToken, "Origin": "http://evil.example"}},
		{"cross site", map[string]string{ui.CSRFHeader: sess.CSRFToken, "Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []struct{ method, path string }{{"POST", "/api/v1/tokens"}, {"DELETE", "/api/v1/tokens/000000000000"},
				{"PUT", "/api/v1/policies/p1"}, {"PATCH", "/api/v1/tokens"}} {
				resp, b := uiReq(t, s.URL, m.method, m.path, c.Value, create, tc.hdr)
				if resp.StatusCode != 403 || codeOf(b) != apiv1.CodeCSRFFailed {
					t.Errorf("%s %s: %d %s, want 403 CSRF_FAILED", m.method, m.path, resp.StatusCode, b)
				}
			}
		})
	}
	if n := tokenCount(); n != before {
		t.Fatalf("refused requests changed the tokens: %d, were %d", n, before)
	}
	origin := map[string]string{ui.CSRFHeader: sess.CSRFToken, "Origin": s.URL, "Sec-Fetch-Site": "same-origin"}
	if resp, b := uiReq(t, s.URL, "POST", "/api/v1/tokens", c.Value, create, origin); resp.StatusCode != 201 {
		t.Fatalf("POST tokens with the CSRF token: %d %s", resp.StatusCode, b)
	}
	if resp, b := uiReq(t, s.URL, "POST", "/api/v1/tokens", "", create, map[string]string{"Authorization": "Bearer " + s.AdminToken}); resp.StatusCode != 201 {
		t.Fatalf("POST tokens with a bearer token and no CSRF token: %d %s", resp.StatusCode, b)
	}
}

// TestUIRestoreSessionReadOnly: a restore token's session reads what a
// restore token reads, and every unsafe method is refused even with the
// CSRF token, including the one a restore bearer token may use (links).
func TestUIRestoreSessionReadOnly(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	_, restoreTok, _ := s.Tokens.Create(apiv1.RoleRestore, "")
	c, sess := uiLogin(t, s.URL, restoreTok)
	if sess.Role != apiv1.RoleRestore || !sess.ReadOnly {
		t.Fatalf("restore session %+v", sess)
	}
	if resp, b := uiReq(t, s.URL, "GET", "/api/v1/snapshots", c.Value, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET snapshots: %d %s", resp.StatusCode, b)
	}
	if resp, b := uiReq(t, s.URL, "GET", "/api/v1/tokens", c.Value, nil, nil); resp.StatusCode != 403 || codeOf(b) != apiv1.CodeForbidden {
		t.Fatalf("GET tokens as restore: %d %s", resp.StatusCode, b)
	}
	hdr := map[string]string{ui.CSRFHeader: sess.CSRFToken}
	for _, m := range []struct{ method, path, body string }{
		{"POST", "/api/v1/forget", `{"host":"","vm":"","dry_run":true}`},
		{"POST", "/api/v1/snapshots/00/disks/a/links", `{}`},
		{"POST", "/api/v1/tokens", `{"role":"admin"}`},
		{"DELETE", "/api/v1/snapshots/00", ``},
	} {
		resp, b := uiReq(t, s.URL, m.method, m.path, c.Value, []byte(m.body), hdr)
		if resp.StatusCode != 403 || codeOf(b) != apiv1.CodeForbidden {
			t.Errorf("%s %s as a restore session: %d %s, want 403 FORBIDDEN", m.method, m.path, resp.StatusCode, b)
		}
	}
}

// TestUISessionEnds: logout (with the CSRF token only) ends the session;
// revoking the token, through the API or in the store, ends its sessions
// and no other.
func TestUISessionEnds(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	alive := func(c *http.Cookie) bool {
		resp, b := uiReq(t, s.URL, "GET", "/ui/session", c.Value, nil, nil)
		var sess apiv1.UISession
		if err := json.Unmarshal(b, &sess); err != nil || resp.StatusCode != 200 {
			t.Fatalf("/ui/session: %d %s", resp.StatusCode, b)
		}
		resp2, _ := uiReq(t, s.URL, "GET", "/api/v1/snapshots", c.Value, nil, nil)
		if sess.LoggedIn != (resp2.StatusCode == 200) || sess.LoggedIn != (sess.CSRFToken != "") {
			t.Fatalf("/ui/session %s but the API %d", b, resp2.StatusCode)
		}
		return sess.LoggedIn
	}
	c, sess := uiLogin(t, s.URL, s.AdminToken)
	if resp, b := uiReq(t, s.URL, "POST", "/ui/logout", c.Value, nil, nil); resp.StatusCode != 403 || codeOf(b) != apiv1.CodeCSRFFailed || !alive(c) {
		t.Fatalf("logout without the CSRF token: %d %s", resp.StatusCode, b)
	}
	resp, _ := uiReq(t, s.URL, "POST", "/ui/logout", c.Value, nil, map[string]string{ui.CSRFHeader: sess.CSRFToken})
	if resp.StatusCode != 204 || alive(c) {
		t.Fatalf("logout: %d, session alive %v", resp.StatusCode, alive(c))
	}
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %v", resp.Header["Set-Cookie"])
	}

	byAPI, tokA, _ := s.Tokens.Create(apiv1.RoleAdmin, "")
	inStore, tokB, _ := s.Tokens.Create(apiv1.RoleRestore, "")
	ca, _ := uiLogin(t, s.URL, tokA)
	ca2, _ := uiLogin(t, s.URL, tokA)
	cb, _ := uiLogin(t, s.URL, tokB)
	keep, _ := uiLogin(t, s.URL, s.AdminToken)
	if err := s.Client("").Do(context.Background(), "DELETE", "/api/v1/tokens/"+byAPI.ID, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	if alive(ca) || alive(ca2) || !alive(cb) || !alive(keep) {
		t.Fatalf("after revoking %s over the API: sessions alive %v %v %v %v, want false false true true", byAPI.ID, alive(ca), alive(ca2), alive(cb), alive(keep))
	}
	if err := s.Tokens.Revoke(inStore.ID); err != nil { // not through the handler
		t.Fatal(err)
	}
	if alive(cb) || !alive(keep) {
		t.Fatalf("after revoking %s in the store: alive %v %v, want false true", inStore.ID, alive(cb), alive(keep))
	}
}

// syncBuffer is a log sink the server writes from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestUITokenNeverShown: logins (good, bad, form and JSON) never put a
// token's secret into a log line, an answer, or the dashboard's pages.
func TestUITokenNeverShown(t *testing.T) {
	var log syncBuffer
	s := testserver.Start(t, testserver.Options{LogTo: &log})
	_, agentTok, _ := s.Tokens.Create(apiv1.RoleAgent, "HV01")
	secrets := []string{s.AdminToken, agentTok, "svt_0123456789ab_deadbeef"}
	var answers [][]byte
	for _, tok := range secrets {
		for _, form := range []bool{false, true} {
			body, ct := []byte(`{"token":"`+tok+`"}`), "application/json"
			if form {
				body, ct = []byte("token="+tok), "application/x-www-form-urlencoded"
			}
			resp, b := uiReq(t, s.URL, "POST", "/ui/login", "", body, map[string]string{"Content-Type": ct})
			answers = append(answers, b, []byte(strings.Join(resp.Header.Values("Set-Cookie"), "\n")))
		}
	}
	c, _ := uiLogin(t, s.URL, s.AdminToken)
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/session"} {
		_, b := uiReq(t, s.URL, "GET", p, c.Value, nil, nil)
		answers = append(answers, b)
	}
	if !strings.Contains(log.String(), "dashboard login") {
		t.Fatalf("the server logged no login: the test reads the wrong log\n%s", log.String())
	}
	for _, tok := range secrets {
		secret := tok[strings.LastIndex(tok, "_")+1:]
		if strings.Contains(log.String(), secret) {
			t.Errorf("the server log holds a token's secret %s", tok)
		}
		for _, a := range answers {
			if bytes.Contains(a, []byte(secret)) {
				t.Errorf("an answer holds a token's secret %s: %.200s", tok, a)
			}
		}
	}
}

// TestUIStaticHeaders: every dashboard file, and the index at /ui/, comes
// with the security headers; unknown files are 404; /ui redirects.
func TestUIStaticHeaders(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/style.css", "/ui/index.html", "/ui/nothing.js", "/ui/login"} {
		method := "GET"
		if p == "/ui/login" {
			method = "POST"
		}
		resp, b := uiReq(t, s.URL, method, p, "", nil, nil)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: headers %v", method, p, h)
		}
		want := 200
		switch p {
		case "/ui/nothing.js":
			want = 404
		case "/ui/login":
			want = 400
		}
		if resp.StatusCode != want {
			t.Errorf("%s %s: %d %.100s, want %d", method, p, resp.StatusCode, b, want)
		}
	}
	resp, _ := uiReq(t, s.URL, "GET", "/ui/app.js", "", nil, nil)
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js Content-Type %q", ct)
	}
	if resp, _ := uiReq(t, s.URL, "GET", "/ui", "", nil, nil); resp.StatusCode != 301 || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
