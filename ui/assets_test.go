package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestNoInlineScript: the pages hold no inline script, style or event
// handler attribute, which the Content-Security-Policy would refuse (and
// a browser test would only notice on the page that uses it), and load
// nothing from another origin.
func TestNoInlineScript(t *testing.T) {
	inline := []*regexp.Regexp{
		regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\son[a-z]+\s*=`),
		regexp.MustCompile(`\sstyle\s*=`),
		regexp.MustCompile(`(src|href)="(https?:)?//`),
	}
	js := []*regexp.Regexp{
		regexp.MustCompile(`\binnerHTML\b|\bouterHTML\s*=|insertAdjacentHTML|document\.write`), // markup from data
		regexp.MustCompile(`\beval\(|new Function\(`),
		regexp.MustCompile(`setAttribute\(\s*'style'`),
		regexp.MustCompile(`localStorage|sessionStorage`), // the page keeps no secret
	}
	n := 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(static, p)
		rules := inline
		if strings.HasSuffix(p, ".js") {
			rules = js
		}
		for _, re := range rules {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: %q matches %s", p, b[loc[0]:min(loc[1]+20, len(b))], re)
			}
		}
		n++
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}

// TestHandler: the prefix serves index.html; files carry the security
// headers; directories and unknown names are 404.
func TestHandler(t *testing.T) {
	h := Handler("/ui/")
	for _, c := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/ui/", 200, "text/html"}, {"/ui/index.html", 200, "text/html"}, {"/ui/app.js", 200, "javascript"},
		{"/ui/style.css", 200, "text/css"}, {"/ui/nope", 404, ""}, {"/ui/../ui.go", 404, ""}, {"/ui/static/", 404, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, c.path, nil))
		if w.Code != c.status || !strings.Contains(w.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("%s: %d %q, want %d %q", c.path, w.Code, w.Header().Get("Content-Type"), c.status, c.ctype)
		}
		if w.Header().Get("Content-Security-Policy") != ContentSecurityPolicy || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: security headers missing: %v", c.path, w.Header())
		}
	}
}
