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

	"github.com/chromedp/chromedp"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
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

	f := &fixture{s: s, tb: tb, snap: snap, img: img, files: files, downloads: downloads, secrets: secrets, restoreTok: restoreTok, agentTok: agentTok}
	t.Run("login refused", f.loginRefused)
	t.Run("login", f.loginAdmin)
	t.Run("hosts and VMs", f.hostsAndVMs)
	t.Run("snapshot", f.snapshotPage)
	t.Run("files", f.fileBrowser)
	t.Run("running backup", f.runningBackup)
	t.Run("jobs", f.jobs)
	t.Run("schedules", f.schedules)
	t.Run("missing snapshot", f.missingSnapshot)
	t.Run("forget dry run", f.forgetDryRun)
	t.Run("tokens", f.tokens)
	t.Run("forged requests", f.forgedRequests)
	t.Run("logout", f.logout)
	t.Run("restore session", f.restoreSession)

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
	for _, sec := range append(secrets, f.created) {
		if sec != "" && strings.Contains(log.String(), sec[strings.LastIndex(sec, "_")+1:]) {
			t.Errorf("the server log holds a token's secret")
		}
	}
	if !strings.Contains(log.String(), "dashboard login") {
		t.Error("the server log has no login line: the check above reads the wrong log")
	}
}

// fixture is what the subtests share: the server, the browser, the
// backups and the tokens.
type fixture struct {
	s          *testserver.Server
	tb         *tab
	snap       string            // the newest snapshot of HV01/SQL02
	img        string            // the disk image backed up
	files      map[string][]byte // the files in its NTFS volume
	downloads  string            // the browser's download directory
	secrets    []string          // the tokens, which no page or log may show
	restoreTok string
	agentTok   string
	created    string // the token the tokens page made
}

// login logs in through the login form.
func (f *fixture) login(t *testing.T, token string) {
	s, tb := f.s, f.tb
	tb.do(t, "login",
		chromedp.Navigate(s.URL+"/ui/"),
		chromedp.WaitVisible(css("#login-form")),
		chromedp.SetValue(css("#token"), token),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#last-backups")))
}

// noAction: the page offers no button and no form (a restore session).
func (f *fixture) noAction(t *testing.T, where string) {
	tb := f.tb
	var n int
	tb.do(t, "count actions", eval(`document.querySelectorAll('main button, main form, main input, main select').length`, &n))
	if n != 0 {
		t.Errorf("%s: a restore session is offered %d buttons or form fields", where, n)
	}
}

// noSecret: the page's HTML and URL hold no token.
func (f *fixture) noSecret(t *testing.T, where string, extra ...string) {
	tb, secrets := f.tb, f.secrets
	var html, href string
	tb.do(t, "page html", into(&html, chromedp.OuterHTML(css("html"))), into(&href, chromedp.Location()))
	for _, sec := range append(secrets, extra...) {
		if strings.Contains(html, sec) || strings.Contains(href, sec) {
			t.Errorf("%s: the page or its URL holds a token", where)
		}
	}
}

// status evaluates a fetch in the page and returns its status.
func (f *fixture) status(t *testing.T, expr string) int {
	tb := f.tb
	var st int
	tb.do(t, "fetch", evalPromise(expr, &st))
	return st
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
