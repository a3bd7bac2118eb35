package api_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// The VSS writer metadata document the agent sends is kept with the
// snapshot, handed back byte for byte, hidden from other hosts, checked
// against its manifest, and removed with the snapshot.
func TestWriterMetadataKeptWithSnapshot(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	doc := random(300 << 10) // stands for diskshadow's backup.cab
	docPath := filepath.Join(dir, "backup.cab")
	if err := os.WriteFile(docPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	_, agentTok, _ := s.Tokens.Create("agent", "HV01")
	rc, err := agent.Backup(context.Background(), s.Client(agentTok), agent.BackupOptions{
		Host: "HV01", VM: "SQL01", Type: "full", Consistency: "application",
		Disks: []string{writeDisk(t, dir, "d.raw", random(1<<20))}, WriterMetadata: docPath, Log: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(tok string) (int, []byte) {
		req, _ := newRequest("GET", s.URL+"/api/v1/snapshots/"+rc.Snapshot+"/writer-metadata", tok)
		resp, err := httpDo(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, got := get(s.AdminToken); st != 200 || !bytes.Equal(got, doc) {
		t.Fatalf("writer metadata: %d, %d bytes, want the %d sent", st, len(got), len(doc))
	}
	_, other, _ := s.Tokens.Create("restore", "HV02")
	if st, _ := get(other); st != 404 {
		t.Fatalf("another host's restore token: %d, want 404", st)
	}
	m, err := s.Repo.Snapshot(rc.Snapshot)
	if err != nil || m.WriterMetadata == nil || m.WriterMetadata.Size != int64(len(doc)) {
		t.Fatalf("manifest writer metadata: %+v %v", m, err)
	}
	// A document that no longer matches its manifest is refused, not served.
	h := backend.Handle{Type: backend.TypeMetadata, Name: rc.Snapshot}
	bad := append([]byte(nil), doc...)
	bad[0] ^= 1
	if err := s.Backend.Put(context.Background(), h, bytes.NewReader(bad), int64(len(bad))); err != nil {
		t.Fatal(err)
	}
	if st, _ := get(s.AdminToken); st < 400 {
		t.Fatalf("a damaged document was served: %d", st)
	}
	if err := s.Repo.ForgetSnapshot(context.Background(), rc.Snapshot); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backend.Stat(context.Background(), h); err == nil {
		t.Fatal("the writer metadata of a forgotten snapshot is still stored")
	}

	id := openSession(t, s, "HV01", "VM2")
	path := "/api/v1/sessions/" + id + "/writer-metadata"
	if st, code := call(t, s, "PUT", path, s.AdminToken, bytes.NewReader(nil)); st != 400 || code != "BAD_REQUEST" {
		t.Fatalf("empty document: %d %s", st, code)
	}
	if st, code := call(t, s, "PUT", path, s.AdminToken, bytes.NewReader(make([]byte, repo.MaxWriterMetadata+1))); st != 413 || code != "BODY_TOO_LARGE" {
		t.Fatalf("oversized document: %d %s", st, code)
	}
}
