package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
	"github.com/shadowvault/shadowvault/repo/backend/retry"
)

// With packs spilled to files (as serve runs), backups of an encrypted
// repository restore byte-identical and check clean, a pack upload that
// fails once is retried from its file, no spill file is left behind, and
// one a crash left is removed at the next start.
func TestSpilledPacks(t *testing.T) {
	fb := faulty.New(mem.New())
	be := retry.New(fb, retry.Options{BaseDelay: time.Millisecond})
	f := &fixture{Server: testserver.Start(t, testserver.Options{Backend: be, SpillPacks: true, Encrypted: true, PackSize: 1 << 20}), fb: fb, disks: map[string][]byte{}}
	fb.Inject(faulty.OpPut, faulty.Fault{From: fb.Calls(faulty.OpPut) + 3, Count: 1, Type: backend.TypePack, Err: backend.ErrTransient})
	fb.Inject(faulty.OpPut, faulty.Fault{From: fb.Calls(faulty.OpPut) + 6, Count: 1, Type: backend.TypePack, Err: backend.ErrTransient, After: true})
	f.populate(t)
	f.verifyRestores(t)
	res, err := f.Repo.CheckData(context.Background(), repo.CheckOptions{ReadDataPercent: 100})
	if err != nil || !res.OK {
		t.Fatalf("check: %+v, %v", res, err)
	}
	if c := f.catalogue(t); c.Packs < 10 {
		t.Fatalf("%d packs: the fixture should make many", c.Packs)
	}
	spill := filepath.Join(f.Dir, "spill")
	left, _ := filepath.Glob(filepath.Join(spill, "pack-*"))
	if len(left) != 0 {
		t.Fatalf("spill files left after the backups: %v", left)
	}
	stale := filepath.Join(spill, "pack-123.spill")
	if err := os.WriteFile(stale, []byte("a pack a crash left"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.Restart(t, false)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("a stale spill file survived the start: %v", err)
	}
	f.verifyRestores(t)
}
