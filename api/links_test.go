package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// lockedBuffer collects the server's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func createLink(t *testing.T, c *agent.Client, snap, disk string, req apiv1.LinkRequest) apiv1.LinkCreated {
	t.Helper()
	var out apiv1.LinkCreated
	if err := c.DoJSON(context.Background(), "POST", "/api/v1/snapshots/"+snap+"/disks/"+disk+"/links", req, &out); err != nil {
		t.Fatalf("create link: %v", err)
	}
	return out
}

// plainGet fetches a path with no Authorization header, as qemu does.
func plainGet(t *testing.T, s *testserver.Server, method, path string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func errorCode(b []byte) string {
	s := string(b)
	if i := strings.Index(s, `"code": "`); i >= 0 {
		rest := s[i+9:]
		return rest[:strings.Index(rest, `"`)]
	}
	return ""
}

// withSig replaces the secret of a link path.
func withSig(path, sig string) string {
	u, _ := url.Parse(path)
	q := u.Query()
	q.Set(apiv1.SignatureParam, sig)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestLinkReadsOneDiskOnly(t *testing.T) {
	logs := &lockedBuffer{}
	s := testserver.Start(t, testserver.Options{LogTo: logs})
	dir := t.TempDir()
	a, b := mixed(1, 3<<20), mixed(2, 2<<20)
	rc := backup(t, s, "hv1", "vm1", writeDisk(t, dir, "a.raw", a), writeDisk(t, dir, "b.raw", b))
	other := backup(t, s, "hv2", "vm2", writeDisk(t, dir, "c.raw", mixed(3, 1<<20)))
	ctx := context.Background()

	var restoreTok apiv1.TokenCreated
	if err := s.Client("").DoJSON(ctx, "POST", "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.RoleRestore, Host: "hv1"}, &restoreTok); err != nil {
		t.Fatal(err)
	}
	rcl := s.Client(restoreTok.Token)
	l := createLink(t, rcl, rc.Snapshot, "a.raw", apiv1.LinkRequest{})
	if l.Format != "raw" || l.Host != "hv1" || l.CreatedBy != restoreTok.ID || time.Until(l.Expires) > apiv1.DefaultLinkLifetime {
		t.Fatalf("link %+v", l.Link)
	}
	sig := l.Path[strings.Index(l.Path, apiv1.SignatureParam+"=")+len(apiv1.SignatureParam)+1:]

	// The link reads its disk: whole, by ranges, and HEAD.
	resp, body := plainGet(t, s, "GET", l.Path, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, a) {
		t.Fatalf("GET link: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = plainGet(t, s, "GET", l.Path, http.Header{"Range": {"bytes=1000-70000"}})
	if resp.StatusCode != 206 || !bytes.Equal(body, a[1000:70001]) {
		t.Fatalf("ranged GET link: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = plainGet(t, s, "HEAD", l.Path, nil)
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(a)) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("HEAD link: %d, length %d, accept-ranges %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("Accept-Ranges"))
	}

	// Nothing else: another disk, another format, another snapshot, other
	// routes, other methods.
	refused := []struct{ method, path string }{
		{"GET", strings.Replace(l.Path, "/disks/a.raw", "/disks/b.raw", 1)},
		{"GET", strings.Replace(l.Path, "format=raw", "format=vhd", 1)},
		{"GET", strings.Replace(l.Path, rc.Snapshot, other.Snapshot, 1)},
		{"GET", "/api/v1/snapshots?" + apiv1.SignatureParam + "=" + sig},
		{"GET", "/api/v1/snapshots/" + rc.Snapshot + "?" + apiv1.SignatureParam + "=" + sig},
		{"GET", "/api/v1/snapshots/" + rc.Snapshot + "/disks/a.raw/fs/0/ls?path=/&" + apiv1.SignatureParam + "=" + sig},
		{"GET", "/api/v1/snapshots/" + rc.Snapshot + "/disks/a.raw/digests?" + apiv1.SignatureParam + "=" + sig},
		{"GET", "/api/v1/tokens?" + apiv1.SignatureParam + "=" + sig},
		{"DELETE", "/api/v1/snapshots/" + rc.Snapshot + "?" + apiv1.SignatureParam + "=" + sig},
		{"POST", "/api/v1/sessions?" + apiv1.SignatureParam + "=" + sig},
		{"POST", "/api/v1/snapshots/" + rc.Snapshot + "/disks/a.raw/links?" + apiv1.SignatureParam + "=" + sig},
	}
	for _, c := range refused {
		resp, body := plainGet(t, s, c.method, c.path, nil)
		if resp.StatusCode != 403 && resp.StatusCode != 404 {
			t.Errorf("%s %s with a link: %d %s, want 403 or 404", c.method, c.path, resp.StatusCode, errorCode(body))
		}
	}
	// A tampered or made-up secret opens nothing.
	flip := "0"
	if sig[len(sig)-1] == '0' {
		flip = "1"
	}
	for _, bad := range []string{sig[:len(sig)-1] + flip, sig + "0", "svl_l000000000000_00", "svt_" + sig[4:], s.AdminToken} {
		if resp, body := plainGet(t, s, "GET", withSig(l.Path, bad), nil); resp.StatusCode != 401 {
			t.Errorf("secret %q: %d %s, want 401", bad, resp.StatusCode, errorCode(body))
		}
	}
	// A link is no bearer token.
	if st, _ := call(t, s, "GET", "/api/v1/snapshots", sig, nil); st != 401 {
		t.Errorf("a link's secret as a bearer token: %d, want 401", st)
	}

	// Links are listed apart from tokens.
	var links apiv1.LinkList
	if err := s.Client("").Do(ctx, "GET", "/api/v1/links", nil, 0, &links); err != nil || len(links.Links) != 1 || links.Links[0].ID != l.ID {
		t.Fatalf("links: %+v, %v", links, err)
	}
	var toks apiv1.TokenList
	if err := s.Client("").Do(ctx, "GET", "/api/v1/tokens", nil, 0, &toks); err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks.Tokens {
		if tok.ID == l.ID {
			t.Fatalf("a link is listed as a token: %+v", tok)
		}
	}
	if st, _ := call(t, s, "DELETE", "/api/v1/tokens/"+l.ID, s.AdminToken, nil); st != 404 {
		t.Errorf("revoking a link as a token: %d, want 404", st)
	}

	// The secret never reaches the log.
	if strings.Contains(logs.String(), sig) {
		t.Fatalf("the link's secret is in the server log")
	}
}

func TestLinkRefusals(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	a := mixed(1, 1<<20)
	rc := backup(t, s, "hv1", "vm1", writeDisk(t, dir, "a.raw", a))
	admin := s.Client("")
	ctx := context.Background()

	// Who may make links, and which.
	var agentTok, otherRestore apiv1.TokenCreated
	if err := admin.DoJSON(ctx, "POST", "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.RoleAgent, Host: "hv1"}, &agentTok); err != nil {
		t.Fatal(err)
	}
	if err := admin.DoJSON(ctx, "POST", "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.RoleRestore, Host: "hv9"}, &otherRestore); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/snapshots/" + rc.Snapshot + "/disks/a.raw/links"
	for _, c := range []struct {
		tok  string
		body string
		want int
	}{
		{agentTok.Token, `{}`, 403},
		{otherRestore.Token, `{}`, 404},
		{s.AdminToken, `{"format":"qcow2"}`, 400},
		{s.AdminToken, `{"expires_in":-1}`, 400},
		{s.AdminToken, `{"expires_in":999999999}`, 400},
		{s.AdminToken, `{"expires_in":1e30}`, 400},
		{s.AdminToken, `{"surprise":1}`, 400},
	} {
		if st, code := call(t, s, "POST", path, c.tok, strings.NewReader(c.body)); st != c.want {
			t.Errorf("create link %s: %d %s, want %d", c.body, st, code, c.want)
		}
	}
	if st, _ := call(t, s, "POST", "/api/v1/snapshots/"+rc.Snapshot+"/disks/nope/links", s.AdminToken, strings.NewReader(`{}`)); st != 404 {
		t.Errorf("a link to a missing disk: %d, want 404", st)
	}

	// Expiry.
	short := createLink(t, admin, rc.Snapshot, "a.raw", apiv1.LinkRequest{Format: "vhd", ExpiresIn: 1})
	if resp, _ := plainGet(t, s, "HEAD", short.Path, nil); resp.StatusCode != 200 {
		t.Fatalf("fresh link: %d", resp.StatusCode)
	}
	time.Sleep(time.Until(short.Expires) + 50*time.Millisecond)
	if resp, body := plainGet(t, s, "GET", short.Path, nil); resp.StatusCode != 401 || errorCode(body) != string(apiv1.CodeLinkExpired) {
		t.Fatalf("expired link: %d %s", resp.StatusCode, errorCode(body))
	}

	// Revocation of the link, and of the token that made it.
	l := createLink(t, admin, rc.Snapshot, "a.raw", apiv1.LinkRequest{})
	if st, _ := call(t, s, "DELETE", "/api/v1/links/"+l.ID, s.AdminToken, nil); st != 200 {
		t.Fatalf("revoke link: %d", st)
	}
	if resp, _ := plainGet(t, s, "GET", l.Path, nil); resp.StatusCode != 401 {
		t.Fatalf("revoked link: %d", resp.StatusCode)
	}
	if st, _ := call(t, s, "DELETE", "/api/v1/links/"+l.ID, s.AdminToken, nil); st != 404 {
		t.Fatalf("revoke a revoked link: %d", st)
	}
	var restoreTok apiv1.TokenCreated
	if err := admin.DoJSON(ctx, "POST", "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.RoleRestore}, &restoreTok); err != nil {
		t.Fatal(err)
	}
	l2 := createLink(t, s.Client(restoreTok.Token), rc.Snapshot, "a.raw", apiv1.LinkRequest{Format: "original"})
	if resp, _ := plainGet(t, s, "HEAD", l2.Path, nil); resp.StatusCode != 200 {
		t.Fatalf("fresh link: %d", resp.StatusCode)
	}
	if st, _ := call(t, s, "DELETE", "/api/v1/tokens/"+restoreTok.ID, s.AdminToken, nil); st != 200 {
		t.Fatalf("revoke token: %d", st)
	}
	if resp, _ := plainGet(t, s, "GET", l2.Path, nil); resp.StatusCode != 401 {
		t.Fatalf("link of a revoked token: %d", resp.StatusCode)
	}
	var links apiv1.LinkList
	if err := admin.Do(ctx, "GET", "/api/v1/links", nil, 0, &links); err != nil || len(links.Links) != 0 {
		t.Fatalf("links after revocations: %+v, %v", links, err)
	}
}
