package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/ingest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend/local"
)

// makeRepo creates a local repository in dir with n small snapshots of a
// few VMs, directly through the repository (no server), and returns their
// ids.
func makeRepo(t *testing.T, dir string, n int) map[string]bool {
	t.Helper()
	ctx := context.Background()
	be, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := repo.NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.PackSize = 256 << 10
	if err := repo.InitConfig(ctx, be, cfg); err != nil {
		t.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	r, err := repo.Open(ctx, be, idx, repo.Options{ReceiptKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	rnd := mrand.New(mrand.NewPCG(1, 2))
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		s, err := r.OpenSession(repo.SessionInfo{Host: "HV01", VM: fmt.Sprintf("VM%d", i%7), BackupType: "full", Consistency: "crash"})
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, 80<<10+rnd.IntN(200<<10))
		for j := range data {
			data[j] = byte(rnd.Uint32())
		}
		up, err := s.BeginDisk("d.raw")
		if err != nil {
			t.Fatal(err)
		}
		res, err := ingest.Disk(ctx, bytes.NewReader(data), up, ingest.Options{Params: r.Config().Chunker})
		if err != nil {
			t.Fatal(err)
		}
		if err := up.Finish(&repo.Disk{Format: res.Format, Map: res.Map,
			StreamBytes: res.StreamBytes, StreamBLAKE3: res.StreamBLAKE3}); err != nil {
			t.Fatal(err)
		}
		rc, err := s.Complete(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids[rc.Snapshot] = true
	}
	return ids
}

func listedSnapshots(t *testing.T, dir string) map[string]bool {
	t.Helper()
	idx, err := index.Open(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	out := map[string]bool{}
	if err := idx.Snapshots(func(id string, _ []byte) error { out[id] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// A kill -9 of `repair index` at any moment leaves every snapshot listed.
func TestRepairIndexSurvivesKill(t *testing.T) {
	n, kills := 300, 12
	if testing.Short() {
		n, kills = 120, 4
	}
	dir := t.TempDir()
	want := makeRepo(t, dir, n)
	repair := func() *exec.Cmd {
		cmd := exec.Command(binary, "repair", "index", "--repo", dir)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	start := time.Now()
	if err := repair().Wait(); err != nil {
		t.Fatalf("repair index: %v", err)
	}
	took := time.Since(start)
	rnd := mrand.New(mrand.NewPCG(3, 4))
	for k := 0; k < kills; k++ {
		cmd := repair()
		time.Sleep(time.Duration(rnd.Int64N(int64(took))))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		got := listedSnapshots(t, dir)
		for id := range want {
			if !got[id] {
				t.Fatalf("kill %d (after up to %v of a %v repair): snapshot %s unlisted; %d of %d listed", k, took, took, id, len(got), len(want))
			}
		}
	}
	if err := repair().Wait(); err != nil {
		t.Fatalf("repair index: %v", err)
	}
	if got := listedSnapshots(t, dir); len(got) != len(want) {
		t.Fatalf("after a full repair %d snapshots listed, want %d", len(got), len(want))
	}
	_ = os.Remove(filepath.Join(dir, "admin.token"))
}
