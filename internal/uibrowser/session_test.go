package uibrowser

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/ui"
)

// loginRefused: a wrong token and an agent token get the login form's message, and no session.
func (f *fixture) loginRefused(t *testing.T) {
	s, tb, agentTok, noSecret, status := f.s, f.tb, f.agentTok, f.noSecret, f.status
	tb.setPhase("login refused")
	tb.do(t, "open", chromedp.Navigate(s.URL+"/ui/"), chromedp.WaitVisible(css("#login-form")))
	tb.screenshot(t, "login")
	for _, c := range []struct{ token, want string }{
		{s.AdminToken[:len(s.AdminToken)-4] + "beef", "Login failed"},
		{agentTok, "cannot log in"},
	} {
		var msg string
		tb.do(t, "login "+c.want,
			chromedp.SetValue(css("#token"), c.token),
			chromedp.Click(css("#login-submit")),
			until(`document.querySelector('#login-error').textContent.length > 0`),
			readText("#login-error", &msg),
			js(`document.querySelector('#login-error').textContent = ''`))
		if !strings.Contains(msg, c.want) {
			t.Errorf("login with a bad token says %q, want %q", msg, c.want)
		}
		if st := status(t, `fetch('/api/v1/snapshots').then(r => r.status)`); st != 401 {
			t.Errorf("after a refused login the API answers %d, want 401", st)
		}
	}
	noSecret(t, "login")
}

// loginAdmin: an admin login shows the overview; the cookie is HttpOnly,
// SameSite=Strict, Path=/, not the token, and unreadable to the page.
func (f *fixture) loginAdmin(t *testing.T) {
	s, tb, login, noSecret := f.s, f.tb, f.login, f.noSecret
	tb.setPhase("overview")
	login(t, s.AdminToken)
	var cookies []*network.Cookie
	var jsCookie, stats string
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	cookies = res.Cookies
	tb.do(t, "cookies", eval(`document.cookie`, &jsCookie), into(&stats, chromedp.TextContent(css("#stats"))))
	var c *network.Cookie
	for _, x := range cookies {
		if x.Name == ui.CookieName {
			c = x
		}
	}
	if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" || c.Secure || len(c.Value) != 64 || strings.Contains(s.AdminToken, c.Value) {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite Strict, Path /, a 64-hex ID that is not the token", c)
	}
	if strings.Contains(jsCookie, c.Value) {
		t.Error("the page's script can read the session cookie")
	}
	if !strings.Contains(stats, "Dedup factor") || !strings.Contains(stats, "×") {
		t.Errorf("overview figures: %q", stats)
	}
	var rows string
	tb.do(t, "last backups", readText("#last-backups", &rows))
	for _, want := range []string{"SQL02", "FS01", "HV01", "HV02"} {
		if !strings.Contains(rows, want) {
			t.Errorf("last backups lack %s: %q", want, rows)
		}
	}
	tb.screenshot(t, "overview")
	noSecret(t, "overview")
}

// forgedRequests: an admin session's POST without its CSRF token, or with a
// wrong one, is refused and changes nothing.
func (f *fixture) forgedRequests(t *testing.T) {
	s, tb, status := f.s, f.tb, f.status
	tb.setPhase("forged")
	before := tokenCount(t, s)
	body := `{method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"role":"admin","host":""}'}`
	if st := status(t, `fetch('/api/v1/tokens', `+body+`).then(r => r.status)`); st != 403 {
		t.Errorf("POST without the CSRF header: %d, want 403", st)
	}
	wrong := `{method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': '` + strings.Repeat("ab", 32) + `'}, body: '{"role":"admin","host":""}'}`
	var code string
	tb.do(t, "wrong csrf", evalPromise(`fetch('/api/v1/tokens', `+wrong+`).then(r => r.json()).then(b => b.error.code)`, &code))
	if code != string(apiv1.CodeCSRFFailed) {
		t.Errorf("POST with a wrong CSRF header: code %q, want CSRF_FAILED", code)
	}
	if n := tokenCount(t, s); n != before {
		t.Errorf("forged requests made tokens: %d, were %d", n, before)
	}
}

// logout ends the session: the API answers 401 and a reload shows the login form.
func (f *fixture) logout(t *testing.T) {
	tb, status := f.tb, f.status
	tb.setPhase("logout")
	tb.do(t, "logout", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login-form")))
	if st := status(t, `fetch('/api/v1/stats').then(r => r.status)`); st != 401 {
		t.Errorf("after logout the API answers %d, want 401", st)
	}
	var n int
	tb.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(css("#login-form")),
		eval(`document.querySelectorAll('#top:not([hidden])').length`, &n))
	if n != 0 {
		t.Error("after logout a reload shows the dashboard")
	}
}

// restoreSession: a restore token's session shows no button or form on any
// page, no admin pages, and a forged action with its CSRF token is 403.
func (f *fixture) restoreSession(t *testing.T) {
	s, tb, snap, restoreTok, login, noAction, noSecret := f.s, f.tb, f.snap, f.restoreTok, f.login, f.noAction, f.noSecret
	tb.setPhase("restore")
	login(t, restoreTok)
	var nav []string
	tb.do(t, "nav", eval(`[...document.querySelectorAll('#nav a')].map(a => a.textContent)`, &nav))
	if strings.Contains(strings.Join(nav, ","), "Tokens") || strings.Contains(strings.Join(nav, ","), "Policies") {
		t.Errorf("a restore session's menu: %v", nav)
	}
	noAction(t, "overview")
	tb.show(t, "#/vm/HV01/SQL02", "#snapshots")
	noAction(t, "vm")
	tb.show(t, "#/snapshot/"+snap, "#disks")
	noAction(t, "snapshot")
	tb.screenshot(t, "restore-snapshot")
	tb.show(t, "#/files/"+snap+"/disk0.vhdx", "#entries")
	noAction(t, "files")
	for _, p := range []string{"#/tokens", "#/policies"} {
		tb.show(t, p, "main h1")
		noAction(t, p)
	}
	tb.setPhase("forged-restore")
	var res []string
	forge := `fetch('/ui/session').then(r => r.json()).then(s => Promise.all([
		['/api/v1/forget', '{"host":"","vm":"","dry_run":false}'],
		['/api/v1/snapshots/` + snap + `/disks/disk0.vhdx/links', '{"format":"raw"}'],
		['/api/v1/tokens', '{"role":"admin","host":""}'],
	].map(([p, b]) => fetch(p, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token}, body: b})
		.then(r => r.json().then(j => r.status + ' ' + (j.error ? j.error.code : ''))))))`
	tb.do(t, "forge", evalPromise(forge, &res))
	for _, r := range res {
		if r != "403 FORBIDDEN" {
			t.Errorf("a restore session's forged action: %q, want 403 FORBIDDEN", r)
		}
	}
	if n := snapshotCount(t, s); n != 3 {
		t.Errorf("%d snapshots after a restore session's forged forget, want 3", n)
	}
	noSecret(t, "restore session")
}
