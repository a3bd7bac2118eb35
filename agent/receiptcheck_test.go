package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
)

// openRewritingProxy forwards to the real server but rewrites the body of
// every session open with f: the server then completes, and signs with its
// own receipt key, a receipt for other settings than the agent asked for.
func openRewritingProxy(t *testing.T, target string, f func(map[string]any)) string {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/sessions" {
			var m map[string]any
			if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
				t.Error(err)
				return
			}
			f(m)
			b, _ := json.Marshal(m)
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
			r.Header.Set("Content-Length", fmt.Sprint(len(b)))
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// resigningProxy forwards to the real server, replaces the receipt of every
// complete with f's version of it, and signs that with key: a well-signed
// receipt (for an agent that pins key) that says something else.
func resigningProxy(t *testing.T, target string, key ed25519.PrivateKey, f func(*receipt.Receipt)) string {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/complete") || resp.StatusCode != 200 {
			return nil
		}
		var rc receipt.Receipt
		if err := json.NewDecoder(resp.Body).Decode(&rc); err != nil {
			return err
		}
		f(&rc)
		if err := receipt.Sign(&rc, key); err != nil {
			return err
		}
		b, _ := json.Marshal(rc)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
		return nil
	}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestReceiptSettingsSignedByServer: the server itself signs a receipt for
// another backup type or consistency than the agent asked for. The signature
// is good; the agent must still refuse it.
func TestReceiptSettingsSignedByServer(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	path := disk(t, "d.raw", seeded(60, 300000))
	for name, tc := range map[string]struct {
		typ     receipt.BackupType
		cons    receipt.Consistency
		rewrite func(map[string]any)
	}{
		"full application recorded as crash": {"full", "application", func(m map[string]any) { m["consistency"] = "crash" }},
		"full application recorded as copy":  {"full", "application", func(m map[string]any) { m["backup_type"] = "copy" }},
		"crash recorded as application":      {"full", "crash", func(m map[string]any) { m["consistency"] = "application" }},
		"copy recorded as full":              {"copy", "application", func(m map[string]any) { m["backup_type"] = "full" }},
	} {
		t.Run(name, func(t *testing.T) {
			c := &agent.Client{Server: openRewritingProxy(t, s.URL, tc.rewrite), Token: s.AdminToken}
			rc, err := agent.Backup(context.Background(), c, agent.BackupOptions{
				Host: "HV01", VM: "VM1", Type: tc.typ, Consistency: tc.cons, Disks: []string{path},
				ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
			})
			if !errors.Is(err, agent.ErrVerify) {
				t.Fatalf("asked for %s/%s, server signed another receipt: %v (receipt %+v), want ErrVerify", tc.typ, tc.cons, err, rc)
			}
		})
	}
}

// TestReceiptSettingsResigned: a correctly signed receipt whose backup_type,
// consistency or truncate_logs differ from what the agent asked for is a
// verification failure; the same receipt unchanged verifies.
func TestReceiptSettingsResigned(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	pub, priv, _ := ed25519.GenerateKey(nil)
	path := disk(t, "d.raw", seeded(61, 300000))
	for name, tc := range map[string]struct {
		typ    receipt.BackupType
		cons   receipt.Consistency
		change func(*receipt.Receipt)
		ok     bool
	}{
		"unchanged full":          {"full", "application", func(*receipt.Receipt) {}, true},
		"unchanged copy crash":    {"copy", "crash", func(*receipt.Receipt) {}, true},
		"full no truncate":        {"full", "application", func(r *receipt.Receipt) { r.TruncateLogs = false }, false},
		"copy truncates":          {"copy", "application", func(r *receipt.Receipt) { r.TruncateLogs = true }, false},
		"crash truncates":         {"full", "crash", func(r *receipt.Receipt) { r.TruncateLogs = true }, false},
		"consistency crash":       {"full", "application", func(r *receipt.Receipt) { r.Consistency = "crash"; r.TruncateLogs = false }, false},
		"consistency application": {"full", "crash", func(r *receipt.Receipt) { r.Consistency = "application"; r.TruncateLogs = true }, false},
		"type copy":               {"full", "application", func(r *receipt.Receipt) { r.BackupType = "copy"; r.TruncateLogs = false }, false},
		"type full":               {"copy", "application", func(r *receipt.Receipt) { r.BackupType = "full"; r.TruncateLogs = true }, false},
		"type empty":              {"copy", "crash", func(r *receipt.Receipt) { r.BackupType = "" }, false},
	} {
		t.Run(name, func(t *testing.T) {
			c := &agent.Client{Server: resigningProxy(t, s.URL, priv, tc.change), Token: s.AdminToken}
			rc, err := agent.Backup(context.Background(), c, agent.BackupOptions{
				Host: "HV01", VM: "VM1", Type: tc.typ, Consistency: tc.cons, Disks: []string{path},
				ReceiptKey: hex.EncodeToString(pub), Log: quiet,
			})
			if tc.ok {
				if err != nil {
					t.Fatalf("unchanged receipt: %v", err)
				}
				if rc.BackupType != tc.typ || rc.Consistency != tc.cons || rc.TruncateLogs != (tc.typ == "full" && tc.cons == "application") {
					t.Fatalf("receipt %+v", rc)
				}
				return
			}
			if !errors.Is(err, agent.ErrVerify) {
				t.Fatalf("asked for %s/%s: %v (receipt %+v), want ErrVerify", tc.typ, tc.cons, err, rc)
			}
		})
	}
}

// TestBackupOptionsChecked: the agent sends only settings it can verify.
// Without a consistency it sends crash (no VSS writer prepared the guest).
func TestBackupOptionsChecked(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	path := disk(t, "d.raw", seeded(62, 100000))
	rc, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
		Host: "HV01", VM: "VM1", Type: "full", Disks: []string{path}, ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Consistency != "crash" || rc.TruncateLogs {
		t.Fatalf("no consistency given: receipt says %q, truncate_logs %v; want crash, false", rc.Consistency, rc.TruncateLogs)
	}
	for _, o := range []agent.BackupOptions{{Type: "incremental", Consistency: "crash"}, {Type: "", Consistency: "crash"}, {Type: "full", Consistency: "vss"}} {
		o.Host, o.VM, o.Disks, o.ReceiptKey, o.Log = "HV01", "VM1", []string{path}, hex.EncodeToString(s.Key), quiet
		if _, err := agent.Backup(context.Background(), s.Client(""), o); !errors.Is(err, agent.ErrRefused) {
			t.Errorf("type %q consistency %q: %v, want ErrRefused", o.Type, o.Consistency, err)
		}
	}
}
