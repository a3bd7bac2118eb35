package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/restore"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func disk(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func seeded(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// tamperingProxy forwards to the server but rewrites the receipt of every
// complete with f.
func tamperingProxy(t *testing.T, target string, f func(map[string]any)) string {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/complete") || resp.StatusCode != 200 {
			return nil
		}
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			return err
		}
		f(m)
		b, _ := json.Marshal(m)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
		return nil
	}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestTamperedReceiptFails(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	path := disk(t, "d.raw", seeded(1, 1<<20))
	for name, f := range map[string]func(map[string]any){
		"truncate_logs": func(m map[string]any) { m["truncate_logs"] = false },
		"vm":            func(m map[string]any) { m["vm"] = "OTHER" },
		"stream_blake3": func(m map[string]any) {
			d := m["disks"].([]any)[0].(map[string]any)
			d["stream_blake3"] = strings.Repeat("0", 64)
		},
		"new_bytes": func(m map[string]any) {
			d := m["disks"].([]any)[0].(map[string]any)
			d["new_bytes"] = 12345.0
		},
		"signature": func(m map[string]any) { m["signature"] = strings.Repeat("ab", 64) },
	} {
		t.Run(name, func(t *testing.T) {
			c := &agent.Client{Server: tamperingProxy(t, s.URL, f), Token: s.AdminToken}
			_, err := agent.Backup(context.Background(), c, agent.BackupOptions{
				Host: "HV01", VM: "VM1", Type: "full", Consistency: "application", Disks: []string{path},
				ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
			})
			if !errors.Is(err, agent.ErrVerify) {
				t.Fatalf("tampered %s: %v, want ErrVerify", name, err)
			}
		})
	}
	// A receipt signed by another key (a pinned key that is not the server's).
	other, _, _ := ed25519.GenerateKey(nil)
	_, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
		Host: "HV01", VM: "VM1", Type: "full", Consistency: "application", Disks: []string{path},
		ReceiptKey: hex.EncodeToString(other), Log: quiet,
	})
	if !errors.Is(err, agent.ErrVerify) {
		t.Fatalf("wrong pinned key: %v, want ErrVerify", err)
	}
}

func TestRefusedAndNetworkErrors(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	path := disk(t, "d.raw", seeded(2, 1000))
	opts := agent.BackupOptions{Host: "HV01", VM: "VM1", Type: "full", Consistency: "application", Disks: []string{path}, Log: quiet, ReceiptKey: hex.EncodeToString(s.Key)}
	_, err := agent.Backup(context.Background(), &agent.Client{Server: s.URL, Token: "svt_bad_bad"}, opts)
	if !errors.Is(err, agent.ErrRefused) {
		t.Fatalf("bad token: %v, want ErrRefused", err)
	}
	_, err = agent.Backup(context.Background(), &agent.Client{Server: "http://127.0.0.1:1", Token: s.AdminToken}, opts)
	if !errors.Is(err, agent.ErrNetwork) {
		t.Fatalf("no server: %v, want ErrNetwork", err)
	}
}

// TestLoad runs 16 agents at once, each backing up 2 disks that share
// content with the others.
func TestLoad(t *testing.T) {
	shared := seeded(7, 6<<20)
	type vm struct {
		paths []string
		data  [][]byte
	}
	vms := make([]vm, 16)
	for i := range vms {
		for d := 0; d < 2; d++ {
			data := append(append([]byte(nil), shared...), seeded(byte(10+2*i+d), 512<<10)...)
			vms[i].data = append(vms[i].data, data)
			vms[i].paths = append(vms[i].paths, disk(t, fmt.Sprintf("vm%d-disk%d.raw", i, d), data))
		}
	}
	seq := testserver.Start(t, testserver.Options{})
	for i, v := range vms {
		if _, err := agent.Backup(context.Background(), seq.Client(""), agent.BackupOptions{
			Host: "HV01", VM: fmt.Sprintf("VM%d", i), Type: "full", Consistency: "application", Disks: v.paths, ReceiptKey: hex.EncodeToString(seq.Key), Log: quiet,
		}); err != nil {
			t.Fatal(err)
		}
	}
	s := testserver.Start(t, testserver.Options{})
	var wg sync.WaitGroup
	snaps := make([]string, len(vms))
	errs := make([]error, len(vms))
	for i, v := range vms {
		_, tok, err := s.Tokens.Create("agent", fmt.Sprintf("HV%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := agent.Backup(context.Background(), s.Client(tok), agent.BackupOptions{
				Host: fmt.Sprintf("HV%02d", i), VM: fmt.Sprintf("VM%d", i), Type: "full", Consistency: "application",
				Disks: v.paths, Parallel: 2, ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
			})
			if err == nil {
				snaps[i] = rc.Snapshot
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("agent %d: %v", i, err)
		}
	}
	for i, v := range vms {
		m, err := s.Repo.Snapshot(snaps[i])
		if err != nil {
			t.Fatal(err)
		}
		for d := range v.data {
			r, err := restore.Open(context.Background(), s.Repo, m, filepath.Base(v.paths[d]), restore.Raw)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := r.WriteTo(&buf); err != nil || !bytes.Equal(buf.Bytes(), v.data[d]) {
				t.Fatalf("vm %d disk %d: restore differs (%v)", i, d, err)
			}
		}
	}
	seqChunks, _, seqBytes, _ := seq.Index.Counts()
	chunks, _, bytes_, _ := s.Index.Counts()
	if chunks != seqChunks || bytes_-seqBytes > int64(chunks)*64 || seqBytes-bytes_ > int64(chunks)*64 {
		t.Fatalf("concurrent: %d chunks in %d bytes; sequential: %d chunks in %d bytes", chunks, bytes_, seqChunks, seqBytes)
	}
}

// cuttingProxy forwards to the server but cuts the first n disk uploads
// half way, as a flaky network would.
func cuttingProxy(t *testing.T, target string, n int) (string, *int) {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	cut := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		doCut := r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/disks/") && !strings.HasSuffix(r.URL.Path, "/hints") && cut < n
		if doCut {
			cut++
		}
		mu.Unlock()
		if doCut {
			// Read part of the body, then drop the connection.
			io.CopyN(io.Discard, r.Body, 100000)
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("no hijacker")
				return
			}
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL, &cut
}

func TestRetryReplacesPartialDisk(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	data := seeded(40, 3<<20)
	path := disk(t, "d.raw", data)
	proxy, cut := cuttingProxy(t, s.URL, 2)
	rc, err := agent.Backup(context.Background(), &agent.Client{Server: proxy, Token: s.AdminToken}, agent.BackupOptions{
		Host: "HV01", VM: "VM1", Type: "full", Consistency: "application", Disks: []string{path},
		ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, Retries: 2, Backoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("backup through a flaky network: %v", err)
	}
	if *cut != 2 || len(rc.Disks) != 1 {
		t.Fatalf("%d uploads cut, %d disks in the receipt", *cut, len(rc.Disks))
	}
	m, _ := s.Repo.Snapshot(rc.Snapshot)
	d, err := restore.Open(context.Background(), s.Repo, m, "d.raw", restore.Raw)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	d.WriteTo(&buf)
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatal("the retried disk restores differently")
	}
	// Past the retry limit the session is aborted: no snapshot.
	proxy, _ = cuttingProxy(t, s.URL, 10)
	_, err = agent.Backup(context.Background(), &agent.Client{Server: proxy, Token: s.AdminToken}, agent.BackupOptions{
		Host: "HV01", VM: "VM2", Type: "full", Consistency: "application", Disks: []string{path},
		ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, Retries: 1, Backoff: 10 * time.Millisecond,
	})
	if !errors.Is(err, agent.ErrNetwork) {
		t.Fatalf("backup past the retry limit: %v, want a network error", err)
	}
	if list, _ := s.Repo.Snapshots(repo.Filter{VM: "VM2"}); len(list) != 0 {
		t.Fatal("a failed backup left a snapshot")
	}
	if open := s.Repo.Sessions(); len(open) != 0 {
		t.Fatalf("the failed backup's session is still open: %+v", open)
	}
}

// TestBackupDeclaresDisks: the agent declares every disk it will send when
// it opens the session, so the server refuses to complete without one.
func TestBackupDeclaresDisks(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	u, _ := url.Parse(s.URL)
	p := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	var declared []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/sessions" {
			body, _ := io.ReadAll(r.Body)
			var req apiv1.SessionRequest
			_ = json.Unmarshal(body, &req)
			mu.Lock()
			declared = req.Disks
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	paths := []string{disk(t, "b.raw", seeded(50, 300000)), disk(t, "a.raw", seeded(51, 200000))}
	rc, err := agent.Backup(context.Background(), &agent.Client{Server: hs.URL, Token: s.AdminToken}, agent.BackupOptions{
		Host: "HV01", VM: "VM1", Type: "full", Consistency: "application", Disks: paths,
		ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(declared, ","); got != "b.raw,a.raw" || len(rc.Disks) != 2 {
		t.Fatalf("declared %q with %d disks in the receipt, want b.raw,a.raw and 2", got, len(rc.Disks))
	}
}
