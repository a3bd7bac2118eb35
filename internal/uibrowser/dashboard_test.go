package uibrowser

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/ui"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// TestDashboard drives the dashboard in Chromium over a server holding
// real backups of an NTFS disk: login (refused for a wrong or agent
// token), the overview, hosts and VMs, a snapshot and its restore
// downloads, the file browser and a file downloaded byte for byte, the
// jobs and schedules pages, a forget dry run, a token created (its secret
// shown once) and revoked, forged requests refused, logout, and a restore
// session that offers no action and is refused one. No page may throw or
// log an error, and no token may appear in a page or the server's log.
func TestDashboard(t *testing.T) {
	var log syncBuffer
	s := testserver.Start(t, testserver.Options{LogTo: &log})
	tb := startBrowser(t)

	r := rand.New(rand.NewPCG(16, 1))
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"readme.txt":         []byte("shadowvault dashboard test volume\r\n"),
		"database.mdf":       blob(3 << 20),
		"$Extend/report.bin": blob(700 << 10),
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "disk0.vhdx")
	if err := os.Rename(vhdtest.Convert(t, vhdtest.NTFSDisk(t, dir, 48, files), "vhdx"), img); err != nil {
		t.Fatal(err)
	}
	backup := func(host, vm string, typ apiv1.BackupType) string {
		rc, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
			Host: host, VM: vm, Type: typ, Consistency: apiv1.ConsistencyApplication, Disks: []string{img},
			ReceiptKey: hex.EncodeToString(s.Key), Log: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatalf("backup %s/%s: %v", host, vm, err)
		}
		return rc.Snapshot
	}
	backup("HV01", "SQL02", apiv1.BackupFull)
	snap := backup("HV01", "SQL02", apiv1.BackupCopy)
	backup("HV02", "FS01", apiv1.BackupFull)
	_, restoreTok, _ := s.Tokens.Create(apiv1.RoleRestore, "")
	_, agentTok, _ := s.Tokens.Create(apiv1.RoleAgent, "HV01")
	secrets := []string{s.AdminToken, restoreTok, agentTok}
	downloads := t.TempDir()
	tb.allowDownloads(t, downloads)

	login := func(t *testing.T, token string) {
		tb.do(t, "login",
			chromedp.Navigate(s.URL+"/ui/"),
			chromedp.WaitVisible(css("#login-form")),
			chromedp.SetValue(css("#token"), token),
			chromedp.Click(css("#login-submit")),
			chromedp.WaitVisible(css("#last-backups")))
	}
	// noAction: the page offers no button and no form (a restore session).
	noAction := func(t *testing.T, where string) {
		var n int
		tb.do(t, "count actions", eval(`document.querySelectorAll('main button, main form, main input, main select').length`, &n))
		if n != 0 {
			t.Errorf("%s: a restore session is offered %d buttons or form fields", where, n)
		}
	}
	// noSecret: the page's HTML and URL hold no token.
	noSecret := func(t *testing.T, where string, extra ...string) {
		var html, href string
		tb.do(t, "page html", into(&html, chromedp.OuterHTML(css("html"))), into(&href, chromedp.Location()))
		for _, sec := range append(secrets, extra...) {
			if strings.Contains(html, sec) || strings.Contains(href, sec) {
				t.Errorf("%s: the page or its URL holds a token", where)
			}
		}
	}
	status := func(t *testing.T, expr string) int {
		var st int
		tb.do(t, "fetch", evalPromise(expr, &st))
		return st
	}

	t.Run("login refused", func(t *testing.T) {
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
	})

	t.Run("login", func(t *testing.T) {
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
	})

	t.Run("hosts and VMs", func(t *testing.T) {
		tb.setPhase("vms")
		var txt string
		tb.show(t, "#/vms", ".vm-link")
		tb.do(t, "vms", readText("main", &txt))
		for _, want := range []string{"HV01", "HV02", "SQL02", "FS01"} {
			if !strings.Contains(txt, want) {
				t.Errorf("hosts and VMs lack %s", want)
			}
		}
		tb.screenshot(t, "vms")
		if st, body := apiCall(t, s, "PUT", "/api/v1/policies/sql", `{"match":{"host":"HV01","vm":"SQL*"},"keep_last":3,"keep_daily":7}`); st != 200 {
			t.Fatalf("PUT a policy: %d %s", st, body)
		}
		var n int
		tb.show(t, "#/vm/HV01/SQL02", "#snapshots")
		var pol string
		tb.do(t, "policy", readText("#vm-policy", &pol))
		if !strings.Contains(pol, "sql") || !strings.Contains(pol, "last 3") || !strings.Contains(pol, "daily 7") {
			t.Errorf("SQL02's policy shows %q, want the policy sql (last 3, daily 7)", pol)
		}
		tb.do(t, "rows", eval(`document.querySelectorAll('#snapshots tbody tr').length`, &n), readText("#snapshots", &txt))
		if n != 2 || !strings.Contains(txt, "copy") || !strings.Contains(txt, "application") {
			t.Errorf("SQL02 shows %d snapshots, want 2 (a full and a copy): %q", n, txt)
		}
		tb.screenshot(t, "vm")
		tb.show(t, "#/vm/HV02/FS01", "#snapshots")
		tb.do(t, "no policy", readText("#vm-policy", &pol))
		if !strings.Contains(pol, "none") {
			t.Errorf("FS01, which no policy matches, shows the policy %q", pol)
		}
		noSecret(t, "vm")
	})

	t.Run("snapshot", func(t *testing.T) {
		tb.setPhase("snapshot")
		tb.show(t, "#/snapshot/"+snap, "#disks")
		var formats []string
		var receipt string
		tb.do(t, "links", eval(`[...document.querySelectorAll('#disks a[data-format]')].map(a => a.dataset.format + ' ' + a.getAttribute('href'))`, &formats),
			into(&receipt, chromedp.TextContent(css("#receipt"))))
		if len(formats) != 4 || !strings.Contains(strings.Join(formats, ","), "/api/v1/snapshots/"+snap+"/disks/disk0.vhdx?format=vhdx") {
			t.Errorf("restore links %v", formats)
		}
		if !strings.Contains(receipt, snap) || !strings.Contains(receipt, `"signature"`) {
			t.Errorf("receipt %q", receipt)
		}
		tb.screenshot(t, "snapshot")
		want, _ := os.ReadFile(img)
		tb.do(t, "download original", chromedp.Click(css(`#disks a[data-format="original"]`)))
		if got := waitFile(t, downloads, "disk0.vhdx", len(want)); !bytes.Equal(got, want) {
			t.Errorf("the original download is %d bytes, not the %d uploaded", len(got), len(want))
		}
	})

	t.Run("files", func(t *testing.T) {
		tb.setPhase("files")
		tb.show(t, "#/files/"+snap+"/disk0.vhdx", "#entries")
		var txt string
		tb.do(t, "root", readText("#entries", &txt))
		if !strings.Contains(txt, "readme.txt") || !strings.Contains(txt, "database.mdf") {
			t.Fatalf("the volume's root shows %q", txt)
		}
		// The volume's root lists no directory but NTFS's own (hidden):
		// go into $Extend by its address, and back by the path's links.
		var href string
		tb.do(t, "here", into(&href, chromedp.Location()))
		tb.show(t, strings.TrimSuffix(href[strings.Index(href, "#"):], "%2F")+"%2F%24Extend", `a.download[data-name="report.bin"]`)
		tb.screenshot(t, "files")
		tb.do(t, "download", chromedp.Click(css(`a.download[data-name="report.bin"]`)))
		want := files["$Extend/report.bin"]
		if got := waitFile(t, downloads, "report.bin", len(want)); !bytes.Equal(got, want) {
			t.Errorf("report.bin downloaded is %d bytes, not the %d in the volume", len(got), len(want))
		}
		tb.do(t, "up", chromedp.Click(css("h2.path a")), chromedp.WaitVisible(css(`a.download[data-name="readme.txt"]`)),
			chromedp.Click(css(`a.download[data-name="readme.txt"]`)))
		if got := waitFile(t, downloads, "readme.txt", len(files["readme.txt"])); !bytes.Equal(got, files["readme.txt"]) {
			t.Errorf("readme.txt downloaded is %q", got)
		}
		noSecret(t, "files")
	})

	// Job history and schedules are other pieces of the server: where the
	// routes exist their pages are checked against them, else the pages
	// must say they are not available.
	t.Run("running backup", func(t *testing.T) {
		tb.setPhase("running")
		c := s.Client("")
		ctx := context.Background()
		sid, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: "HV03", VM: "WEB01", BackupType: apiv1.BackupFull, Disks: []string{"disk0.vhdx"}})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(img)
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("PUT", s.URL+"/api/v1/sessions/"+sid+"/disks/disk0.vhdx", pr)
		req.ContentLength = int64(len(data))
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		if _, err := pw.Write(data[:1<<20]); err != nil {
			t.Fatal(err)
		}
		row := `#running tr[data-session="` + sid + `"]`
		tb.show(t, "#/jobs", row+` td.uploading .badge`)
		tb.screenshot(t, "jobs-running")
		tb.show(t, "#/overview", "tr.status-running")
		var txt string
		tb.do(t, "overview running", readText("tr.status-running", &txt))
		if !strings.Contains(txt, "WEB01") || !strings.Contains(txt, "uploading disk0.vhdx") {
			t.Errorf("the overview's running row: %q", txt)
		}
		// The upload ends: the jobs page, polling, sees it stored.
		tb.show(t, "#/jobs", row)
		if _, err := pw.Write(data[1<<20:]); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		tb.do(t, "stored", until(`document.querySelector('`+row+` td.uploading').textContent === '–'`))
		if err := c.Do(ctx, "POST", "/api/v1/sessions/"+sid+"/abort", nil, 0, nil); err != nil {
			t.Fatal(err)
		}
		tb.do(t, "gone", until(`!document.querySelector('`+row+`')`))
	})

	t.Run("jobs", func(t *testing.T) {
		tb.setPhase("jobs")
		st, body := apiCall(t, s, "GET", "/api/v1/jobs", "")
		if st != 200 {
			t.Fatalf("GET /api/v1/jobs: %d %s", st, body)
		}
		if !strings.Contains(body, `"maintenance"`) {
			tb.show(t, "#/jobs", "#no-history")
			tb.screenshot(t, "jobs")
			return
		}
		tb.show(t, "#/jobs", "#job-history")
		var rows []string
		tb.do(t, "history", eval(`[...document.querySelectorAll('#job-history tbody tr')].map(r => r.innerText)`, &rows))
		backups := 0
		for _, r := range rows {
			if strings.Contains(r, "backup") && strings.Contains(r, "success") {
				backups++
			}
		}
		if backups < 3 {
			t.Errorf("the job history shows %d successful backups, want 3: %q", backups, rows)
		}
		tb.screenshot(t, "jobs")
		tb.do(t, "open job", chromedp.Click(css(`#job-history tbody tr a`)), chromedp.WaitVisible(css("#job-log")))
		tb.screenshot(t, "job")
	})

	t.Run("schedules", func(t *testing.T) {
		tb.setPhase("schedules") // GET /api/v1/schedules is 404 where that piece is missing
		st, body := apiCall(t, s, "PUT", "/api/v1/schedules/nightly",
			`{"hosts":"HV01","vms":"SQL*","window":{"start":"22:00","end":"04:00","time_zone":"UTC"},"backup_type":"full","incremental":false,"enabled":true}`)
		if st == 404 {
			tb.show(t, "#/schedules", "#no-schedules")
			tb.screenshot(t, "schedules")
			return
		}
		if st != 200 && st != 201 {
			t.Fatalf("PUT a schedule: %d %s", st, body)
		}
		var txt string
		tb.show(t, "#/schedules", "main table")
		tb.do(t, "schedules", readText("main", &txt))
		if !strings.Contains(txt, "nightly") || !strings.Contains(txt, "22:00") || !strings.Contains(txt, "SQL02") {
			t.Errorf("the schedules page lacks the schedule or its VM: %q", txt)
		}
		tb.screenshot(t, "schedules")
		tb.show(t, "#/vm/HV01/SQL02", "#snapshots")
		tb.do(t, "vm schedule", readText("main .cards", &txt))
		if !strings.Contains(txt, "nightly") {
			t.Errorf("SQL02's page does not name its schedule: %q", txt)
		}
	})

	t.Run("missing snapshot", func(t *testing.T) {
		tb.setPhase("missing")
		var txt string
		tb.show(t, "#/snapshot/"+strings.Repeat("0", 32), "main .error")
		tb.do(t, "error", readText("main .error", &txt))
		if !strings.Contains(txt, "Could not load this page") {
			t.Errorf("a missing snapshot's page says %q", txt)
		}
	})

	t.Run("forget dry run", func(t *testing.T) {
		tb.setPhase("policies")
		before := snapshotCount(t, s)
		tb.show(t, "#/policies", "#forget-form")
		tb.do(t, "dry run",
			chromedp.SetValue(css("#forget-policy"), "last"),
			chromedp.SetValue(css("#forget-last"), "1"),
			chromedp.Click(css("#forget-dry-run")),
			chromedp.WaitVisible(css("#forget-keep")))
		var remove, keep []string
		tb.do(t, "result",
			eval(`[...document.querySelectorAll('#forget-remove tbody tr')].map(r => r.innerText)`, &remove),
			eval(`[...document.querySelectorAll('#forget-keep tbody tr')].map(r => r.innerText)`, &keep))
		if len(remove) != 1 || !strings.Contains(remove[0], "SQL02") || len(keep) != 2 {
			t.Errorf("keep-last 1 would remove %q and keep %q; want SQL02's older snapshot removed, two kept", remove, keep)
		}
		if n := snapshotCount(t, s); n != before {
			t.Errorf("a dry run changed the snapshots: %d, were %d", n, before)
		}
		tb.screenshot(t, "policies")
	})

	var created string
	t.Run("tokens", func(t *testing.T) {
		tb.setPhase("tokens")
		tb.show(t, "#/tokens", "#tokens")
		tb.do(t, "create",
			chromedp.SetValue(css("#token-role"), "agent"),
			chromedp.SetValue(css("#token-host"), "HV09"),
			chromedp.Click(css("#token-create")),
			chromedp.WaitVisible(css("#new-secret")),
			readText("#new-secret", &created))
		tok, err := s.Tokens.Check(created)
		if err != nil || tok.Role != apiv1.RoleAgent || tok.Host != "HV09" {
			t.Fatalf("the secret shown (%q) is no agent token of HV09: %+v %v", created, tok, err)
		}
		tb.screenshot(t, "tokens")
		// Shown once: gone when the page is left and shown again.
		tb.show(t, "#/overview", "#last-backups")
		tb.show(t, "#/tokens", "#tokens tr[data-id='"+tok.ID+"']")
		noSecret(t, "tokens again", created)
		sel := `button.revoke[data-id="` + tok.ID + `"]`
		tb.do(t, "revoke",
			chromedp.Click(css(sel)),
			until(`document.querySelector('`+sel+`').textContent === 'Confirm revoke'`))
		if _, err := s.Tokens.Check(created); err != nil {
			t.Fatal("the first click revoked the token: it should only ask")
		}
		tb.do(t, "confirm", chromedp.Click(css(sel)),
			until(`!document.querySelector('tr[data-id="`+tok.ID+`"]')`))
		if _, err := s.Tokens.Check(created); err == nil {
			t.Fatal("the revoked token still works")
		}
	})

	t.Run("forged requests", func(t *testing.T) {
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
	})

	t.Run("logout", func(t *testing.T) {
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
	})

	t.Run("restore session", func(t *testing.T) {
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
	})

	// Errors the pages may cause: refused logins and forged requests, the
	// API after logout, and the routes this server lacks (schedules) or
	// does not open to a restore token yet (jobs): the pages show that.
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		expected := p.source == "network" && (p.phase == "login refused" || p.phase == "forged" || p.phase == "forged-restore" ||
			p.phase == "logout" || p.phase == "missing" || strings.Contains(p.url, "/api/v1/schedules") ||
			p.phase == "restore" && strings.HasSuffix(p.url, "/api/v1/jobs") && strings.Contains(p.text, "403"))
		if !expected {
			t.Errorf("in %s: %s: %s %s", p.phase, p.source, p.text, p.url)
		}
	}
	for _, sec := range append(secrets, created) {
		if sec != "" && strings.Contains(log.String(), sec[strings.LastIndex(sec, "_")+1:]) {
			t.Errorf("the server log holds a token's secret")
		}
	}
	if !strings.Contains(log.String(), "dashboard login") {
		t.Error("the server log has no login line: the check above reads the wrong log")
	}
}

func snapshotCount(t *testing.T, s *testserver.Server) int {
	t.Helper()
	var l apiv1.SnapshotList
	if err := s.Client("").Do(context.Background(), "GET", "/api/v1/snapshots", nil, 0, &l); err != nil {
		t.Fatal(err)
	}
	return len(l.Snapshots)
}

func tokenCount(t *testing.T, s *testserver.Server) int {
	t.Helper()
	l, err := s.Tokens.List()
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
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

// apiCall sends one admin request and returns the status and body.
func apiCall(t *testing.T, s *testserver.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
