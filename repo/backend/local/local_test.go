package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/backendtest"
	"github.com/shadowvault/shadowvault/repo/backend/local"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, err := local.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestShortReaderLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	b, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.TypePack, Name: "abcdef"}
	if err := b.Put(context.Background(), h, bytes.NewReader([]byte("short")), 100); err == nil {
		t.Fatal("put of a reader shorter than size succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "packs", "ab"))
	if len(entries) != 0 {
		t.Fatalf("failed put left %d files", len(entries))
	}
}

func TestOpenSweepsTempFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := local.Open(dir); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "snapshots", ".tmp-abc-123")
	if err := os.WriteFile(stray, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray temp file survived Open: %v", err)
	}
}
