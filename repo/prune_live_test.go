package repo_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

// TestPruneKeepsSmallLivePacks backs up disks whose packs are tiny (a
// single repeated-byte chunk: its pack is mostly trailer and footer) and
// prunes with nothing forgotten: nothing a restore or check sees may change.
func TestPruneKeepsSmallLivePacks(t *testing.T) {
	e := newPruneEnv(t)
	one := bytes.Repeat([]byte{0xA5}, 64<<10)
	small := randomBytes(9, 70<<10)
	snaps := map[string][]byte{
		e.store(t, "VMONE", one):     one,
		e.store(t, "VMSMALL", small): small,
	}
	for round := 0; round < 3; round++ {
		e.clock.advance(2 * time.Hour)
		res, err := e.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.PacksDeleted != 0 || res.PacksRewritten != 0 {
			t.Errorf("round %d: nothing forgotten, but prune reported %+v", round, res)
		}
		e.mustCheckData(t)
		for id, want := range snaps {
			if got := e.restoreRaw(t, id); !bytes.Equal(got, want) {
				t.Fatalf("round %d: snapshot %s restores differently", round, id)
			}
		}
	}
}

// TestPruneIdenticalRewriteKeepsPack forces a repack of a pack whose live
// chunks are all of it: the rewrite has the same name as the original,
// which must stay.
func TestPruneIdenticalRewriteKeepsPack(t *testing.T) {
	e := newPruneEnv(t)
	data := bytes.Repeat([]byte{0x5A}, 64<<10) // one chunk: its pack rewrites to the same bytes
	id := e.store(t, "VMX", data)
	e.clock.advance(2 * time.Hour)
	// RepackBelow above 1 makes every pack a candidate for rewriting.
	if _, err := e.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Nanosecond, RepackBelow: 1.5}); err != nil {
		t.Fatal(err)
	}
	e.mustCheckData(t)
	if got := e.restoreRaw(t, id); !bytes.Equal(got, data) {
		t.Fatal("restore differs after a prune that rewrote a fully live pack")
	}
}

func (e *pruneEnv) mustCheckData(t *testing.T) {
	t.Helper()
	e.mustCheck(t)
	res, err := e.Repo.RunCheck(context.Background(), repo.CheckOptions{ReadDataPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("check --read-data 100%%: %+v", res)
	}
}

// removeHook runs onRemove (once) before the first removal of a pack.
type removeHook struct {
	backend.Backend
	once     sync.Once
	onRemove func()
}

func (b *removeHook) Remove(ctx context.Context, h backend.Handle) error {
	if h.Type == backend.TypePack && b.onRemove != nil {
		b.once.Do(b.onRemove)
	}
	return b.Backend.Remove(ctx, h)
}

// Pack names are the hash of their bytes: with small packs, a backup that
// stores a chunk again makes a pack of the very name a prune is deleting.
// The prune must not delete it under the new backup.
func TestPruneRacesBackupOfSamePack(t *testing.T) {
	hb := &removeHook{Backend: mem.New()}
	c := newClock()
	e := &pruneEnv{Server: testserver.Start(t, testserver.Options{Backend: hb, Now: c.now, PackSize: repo.MinPackSize}), clock: c}
	data := randomBytes(21, 64<<10) // one chunk, one pack
	first := e.store(t, "VMA", data)
	if err := e.Repo.ForgetSnapshot(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	hb.onRemove = func() {
		go func() {
			cl := e.Client("")
			id, err := cl.OpenSession(context.Background(), sessionReq("VMB"))
			if err == nil {
				_, err = cl.PutDisk(context.Background(), id, "disk.raw", bytes.NewReader(data), int64(len(data)), "raw")
			}
			if err == nil {
				var rc receipt.Receipt
				if rc, err = cl.Complete(context.Background(), id); err == nil {
					done <- rc.Snapshot
					return
				}
			}
			t.Error(err)
			done <- ""
		}()
		select { // let the backup store its pack now, if the prune lets it
		case snap := <-done:
			done <- snap
		case <-time.After(time.Second):
		}
	}
	e.clock.advance(2 * time.Hour)
	if _, err := e.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	second := <-done
	if second == "" {
		t.Fatal("the second backup failed")
	}
	e.mustCheckData(t)
	if got := e.restoreRaw(t, second); !bytes.Equal(got, data) {
		t.Fatal("the second backup restores differently")
	}
}
