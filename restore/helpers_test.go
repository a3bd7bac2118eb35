package restore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/ingest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend/local"
)

// openRepo opens a new repository on local disk, closed with the test.
func openRepo(tb testing.TB) *repo.Repository {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	be, err := local.Open(filepath.Join(dir, "repo"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := repo.NewConfig()
	if err != nil {
		tb.Fatal(err)
	}
	if err := repo.InitConfig(ctx, be, cfg); err != nil {
		tb.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(dir, "index.db"))
	if err != nil {
		tb.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	r, err := repo.Open(ctx, be, idx, repo.Options{ReceiptKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		r.Close(ctx)
		idx.Close()
	})
	return r
}

// backUp stores disks (name -> container bytes) as one snapshot.
func backUp(tb testing.TB, r *repo.Repository, disks map[string][]byte) *repo.Manifest {
	tb.Helper()
	ctx := context.Background()
	s, err := r.OpenSession(repo.SessionInfo{Host: "HV01", VM: "VM1", BackupType: "copy", Consistency: "crash"})
	if err != nil {
		tb.Fatal(err)
	}
	for name, data := range disks {
		up, err := s.BeginDisk(name)
		if err != nil {
			tb.Fatal(err)
		}
		res, err := ingest.Disk(ctx, bytes.NewReader(data), up, ingest.Options{Params: r.Config().Chunker})
		if err != nil {
			tb.Fatal(err)
		}
		if err := up.Finish(&repo.Disk{Format: res.Format, Map: res.Map, Container: res.Container,
			StreamBytes: res.StreamBytes, StreamBLAKE3: res.StreamBLAKE3}); err != nil {
			tb.Fatal(err)
		}
	}
	rc, err := s.Complete(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := r.Snapshot(rc.Snapshot)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
