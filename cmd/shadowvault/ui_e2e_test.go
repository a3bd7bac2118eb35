package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDashboardServed: the binary serves the dashboard with its security
// headers, a login gives a session cookie the API accepts, and a restart
// ends every session (they are kept in memory only).
func TestDashboardServed(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	resp, err := http.Get(s.url + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `src="/ui/app.js"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET /ui/: %d %v\n%.300s", resp.StatusCode, resp.Header, page)
	}
	resp, err = http.Post(s.url+"/ui/login", "application/json", strings.NewReader(`{"token":"`+s.token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "shadowvault_session" {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	stats := func(base string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/stats", nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := stats(s.url); st != 200 {
		t.Fatalf("GET stats with the session cookie: %d", st)
	}
	s.kill()
	s2 := startServer(t, dir)
	if st := stats(s2.url); st != 401 {
		t.Fatalf("after a restart the old session answers %d, want 401", st)
	}
}
