package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func writeDisk(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func backup(t testing.TB, s *testserver.Server, host, vm string, paths ...string) *receipt.Receipt {
	t.Helper()
	rc, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
		Host: host, VM: vm, Type: "full", Consistency: "application", Disks: paths,
		ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
	})
	if err != nil {
		t.Fatalf("backup %s/%s: %v", host, vm, err)
	}
	return rc
}

func restore(t testing.TB, s *testserver.Server, snap, disk, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Client("").Restore(context.Background(), snap, disk, format, &buf, nil); err != nil {
		t.Fatalf("restore %s/%s: %v", snap, disk, err)
	}
	return buf.Bytes()
}

// mixed returns a disk image of random, compressible and zero regions.
func mixed(seed uint64, size int) []byte {
	r := mrand.New(mrand.NewPCG(seed, 7))
	d := make([]byte, size)
	for off := 0; off < size; {
		n := min(size-off, 1+r.IntN(2<<20))
		switch r.IntN(3) {
		case 0:
			for i := off; i < off+n; i += 8 {
				v := r.Uint64()
				for k := 0; k < 8 && i+k < off+n; k++ {
					d[i+k] = byte(v >> (8 * k))
				}
			}
		case 1:
			for i := off; i < off+n; i++ {
				d[i] = "Windows System32 drivers "[i%25]
			}
		}
		off += n
	}
	return d
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// call sends a raw request and returns the status and error code.
func call(t testing.TB, s *testserver.Server, method, path, token string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	code := ""
	if i := strings.Index(string(data), `"code": "`); i >= 0 {
		rest := string(data[i+9:])
		code = rest[:strings.Index(rest, `"`)]
	}
	return resp.StatusCode, code
}

func openSession(t testing.TB, s *testserver.Server, host, vm string) string {
	t.Helper()
	id, err := s.Client("").OpenSession(context.Background(), apiv1.SessionRequest{Host: host, VM: vm, BackupType: "full", Consistency: "application"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func snapshotCount(t testing.TB, s *testserver.Server) int {
	t.Helper()
	list, err := s.Repo.Snapshots(repo.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func newRequest(method, url, token string) (*http.Request, error) {
	req, err := http.NewRequest(method, url, nil)
	if err == nil && token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, err
}

func httpDo(req *http.Request) (*http.Response, error) { return http.DefaultClient.Do(req) }

func httpGet(s *testserver.Server, path string) (*http.Response, error) {
	req, _ := newRequest("GET", s.URL+path, s.AdminToken)
	return http.DefaultClient.Do(req)
}
