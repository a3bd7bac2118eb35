package s3e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo/backend"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// random returns n incompressible bytes made from seed.
func random(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 's', 'v'})
	_, _ = r.Read(b)
	return b
}

// text returns n bytes of compressible text.
func text(seed uint64, n int) []byte {
	var buf bytes.Buffer
	r := mrand.New(mrand.NewPCG(seed, 1))
	for buf.Len() < n {
		buf.WriteString("C:\\Windows\\System32\\drivers\\etc\\hosts line ")
		buf.WriteString(strings.Repeat("x", r.IntN(40)))
		buf.WriteByte('\n')
	}
	return buf.Bytes()[:n]
}

// concat joins parts into one disk image.
func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// writeDisks writes each disk into a new directory and returns the paths.
func writeDisks(tb testing.TB, disks map[string][]byte) []string {
	tb.Helper()
	dir := tb.TempDir()
	var paths []string
	for name, data := range disks {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// backupFiles runs the agent's backup of the files at paths, with the
// server's receipt key pinned.
func backupFiles(ctx context.Context, s *server, vm string, paths ...string) (*receipt.Receipt, error) {
	return agent.Backup(ctx, s.client(), agent.BackupOptions{
		Host: "HV01", VM: vm, Type: "full", Consistency: "application", Disks: paths,
		ReceiptKey: s.receiptKey(), Log: quiet, Backoff: 10 * time.Millisecond,
	})
}

// backup backs up disks of vm and fails the test unless it succeeds.
func backup(tb testing.TB, s *server, vm string, disks map[string][]byte) *receipt.Receipt {
	tb.Helper()
	rc, err := backupFiles(context.Background(), s, vm, writeDisks(tb, disks)...)
	if err != nil {
		tb.Fatalf("backup %s: %v", vm, err)
	}
	return rc
}

// restore restores one disk over HTTP in the given format.
func restore(tb testing.TB, s *server, snap, disk, format string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := s.client().Restore(context.Background(), snap, disk, format, &buf, nil); err != nil {
		tb.Fatalf("restore %s/%s: %v", snap, disk, err)
	}
	return buf.Bytes()
}

// checkRestores restores every disk of every receipt and compares it with
// what was backed up (by snapshot, then disk name).
func checkRestores(tb testing.TB, s *server, want map[string]map[string][]byte) {
	tb.Helper()
	for snap, disks := range want {
		for name, data := range disks {
			if got := restore(tb, s, snap, name, "original"); !bytes.Equal(got, data) {
				tb.Fatalf("restore %s/%s: %d bytes, differ from the %d backed up", snap, name, len(got), len(data))
			}
		}
	}
}

// adminJSON sends an admin request and decodes the JSON answer into out.
func adminJSON(tb testing.TB, s *server, method, path, body string, out any) {
	tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	if err := s.client().Do(context.Background(), method, path, r, int64(len(body)), out); err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
}

// apiCode returns the status and code of an API error, or 0 and "".
func apiCode(err error) (int, string) {
	var ae *agent.APIError
	if errors.As(err, &ae) {
		return ae.Status, string(ae.Code)
	}
	return 0, ""
}

// storageFailure reports whether err is the API's answer to a storage
// failure: 503 with STORAGE_ERROR or SESSION_FAILED.
func storageFailure(err error) bool {
	st, code := apiCode(err)
	return st == http.StatusServiceUnavailable && (code == "STORAGE_ERROR" || code == "SESSION_FAILED")
}

// objects counts the objects of type t in be.
func objects(tb testing.TB, be backend.Backend, t backend.Type) int {
	tb.Helper()
	n := 0
	if err := be.List(context.Background(), t, func(backend.ObjectInfo) error { n++; return nil }); err != nil {
		tb.Fatal(err)
	}
	return n
}

// checkRepo runs POST /api/v1/check and fails the test unless it is clean.
func checkRepo(tb testing.TB, s *server) {
	tb.Helper()
	var res struct {
		OK       bool              `json:"ok"`
		Damaged  []json.RawMessage `json:"damaged"`
		Problems []string          `json:"problems"`
		Chunks   int               `json:"chunks"`
	}
	adminJSON(tb, s, http.MethodPost, "/api/v1/check", `{"read_data_percent":0}`, &res)
	if !res.OK || len(res.Damaged) != 0 || res.Chunks == 0 {
		tb.Fatalf("check: ok=%v, %d damaged disks, %d chunks: %v", res.OK, len(res.Damaged), res.Chunks, res.Problems)
	}
}
