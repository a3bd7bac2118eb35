package uibrowser

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shadowvault/shadowvault/apiv1"
)

// runningBackup: an upload in progress shows as a running backup on the jobs
// page and the overview, and the polling page follows it to its end.
func (f *fixture) runningBackup(t *testing.T) {
	s, tb, img := f.s, f.tb, f.img
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
}

// jobs: job history and schedules are other pieces of the server: where
// the routes exist their pages are checked against them, else the pages
// must say they are not available.
func (f *fixture) jobs(t *testing.T) {
	s, tb := f.s, f.tb
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
}

// schedules: a schedule stored through the API shows on the schedules page
// and its VM's page, where the server has schedules.
func (f *fixture) schedules(t *testing.T) {
	s, tb := f.s, f.tb
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
}

// forgetDryRun: a keep-last-1 dry run lists what it would keep and remove,
// and removes nothing.
func (f *fixture) forgetDryRun(t *testing.T) {
	s, tb := f.s, f.tb
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
}

// tokens: a token created in the page works and its secret is shown once;
// revoking takes two clicks and ends it.
func (f *fixture) tokens(t *testing.T) {
	s, tb, noSecret := f.s, f.tb, f.noSecret
	tb.setPhase("tokens")
	tb.show(t, "#/tokens", "#tokens")
	tb.do(t, "create",
		chromedp.SetValue(css("#token-role"), "agent"),
		chromedp.SetValue(css("#token-host"), "HV09"),
		chromedp.Click(css("#token-create")),
		chromedp.WaitVisible(css("#new-secret")),
		readText("#new-secret", &f.created))
	tok, err := s.Tokens.Check(f.created)
	if err != nil || tok.Role != apiv1.RoleAgent || tok.Host != "HV09" {
		t.Fatalf("the secret shown (%q) is no agent token of HV09: %+v %v", f.created, tok, err)
	}
	tb.screenshot(t, "tokens")
	// Shown once: gone when the page is left and shown again.
	tb.show(t, "#/overview", "#last-backups")
	tb.show(t, "#/tokens", "#tokens tr[data-id='"+tok.ID+"']")
	noSecret(t, "tokens again", f.created)
	sel := `button.revoke[data-id="` + tok.ID + `"]`
	tb.do(t, "revoke",
		chromedp.Click(css(sel)),
		until(`document.querySelector('`+sel+`').textContent === 'Confirm revoke'`))
	if _, err := s.Tokens.Check(f.created); err != nil {
		t.Fatal("the first click revoked the token: it should only ask")
	}
	tb.do(t, "confirm", chromedp.Click(css(sel)),
		until(`!document.querySelector('tr[data-id="`+tok.ID+`"]')`))
	if _, err := s.Tokens.Check(f.created); err == nil {
		t.Fatal("the revoked token still works")
	}
}
