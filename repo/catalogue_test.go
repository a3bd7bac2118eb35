package repo_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

// reopen opens a second repository over the fixture's backend and index,
// as a server restarted after a crash would.
func (f *fixture) reopen(t *testing.T) *repo.Repository {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(nil)
	r, err := repo.Open(context.Background(), f.Backend, f.Index, repo.Options{Logger: quiet, ReceiptKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func mustCheckOK(t *testing.T, r *repo.Repository) {
	t.Helper()
	res, err := r.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("check: %+v", res)
	}
}

func manifestStored(t *testing.T, be backend.Backend, id string) bool {
	t.Helper()
	_, err := be.Stat(context.Background(), backend.Handle{Type: backend.TypeSnapshot, Name: id})
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// Check compares the catalogue with the manifests in the backend, and
// names a manifest the index lost and a record whose manifest is gone.
func TestCheckComparesCatalogueWithBackend(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	lost, unbacked := f.rcs[0].Snapshot, f.rcs[1].Snapshot
	if err := f.Index.DeleteSnapshot(lost); err != nil {
		t.Fatal(err)
	}
	if err := f.Backend.Remove(context.Background(), backend.Handle{Type: backend.TypeSnapshot, Name: unbacked}); err != nil {
		t.Fatal(err)
	}
	res, err := f.Repo.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || !slices.Equal(res.UnlistedManifests, []string{lost}) || !slices.Equal(res.MissingManifests, []string{unbacked}) {
		t.Fatalf("check: ok %v, unlisted %v (want %s), missing %v (want %s)", res.OK, res.UnlistedManifests, lost, res.MissingManifests, unbacked)
	}

	// A restart reconciles both, without unlisting anything.
	r := f.reopen(t)
	mustCheckOK(t, r)
	if _, err := r.Snapshot(lost); err != nil {
		t.Fatalf("lost snapshot not listed again: %v", err)
	}
	if !manifestStored(t, f.Backend, unbacked) {
		t.Fatal("missing manifest not stored again from the index record")
	}
	f.verifyRestores(t)
}

// A forget interrupted after it was decided (the manifest removal failed, or
// the server died) leaves the snapshot removed, and is finished by the next
// start, or by repeating it, with no manual step; a rebuild never brings it
// back.
func TestForgetIsRestartable(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	id := f.rcs[0].Snapshot
	f.fb.Inject(faulty.OpRemove, faulty.Fault{From: 1, Count: 1, Err: backend.ErrPermission})
	if err := f.Repo.ForgetSnapshot(context.Background(), id); err == nil {
		t.Fatal("forget with a failing backend reported success")
	}
	if _, err := f.Repo.Snapshot(id); !errors.Is(err, repo.ErrUnknownSnapshot) {
		t.Fatalf("a decided forget left the snapshot listed: %v", err)
	}
	if !manifestStored(t, f.Backend, id) {
		t.Fatal("fixture: the manifest removal did not fail")
	}
	// A rebuild now must not bring it back.
	if _, err := f.Repo.RebuildIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Repo.Snapshot(id); !errors.Is(err, repo.ErrUnknownSnapshot) {
		t.Fatalf("rebuild listed a forgotten snapshot again: %v", err)
	}
	mustCheckOK(t, f.Repo)
	if manifestStored(t, f.Backend, id) {
		t.Fatal("manifest of a forgotten snapshot still stored after a rebuild")
	}

	// Interrupted again, then finished by a restart.
	id2 := f.rcs[1].Snapshot
	f.fb.Inject(faulty.OpRemove, faulty.Fault{From: f.fb.Calls(faulty.OpRemove) + 1, Count: 1, Err: backend.ErrPermission})
	if err := f.Repo.ForgetSnapshot(context.Background(), id2); err == nil {
		t.Fatal("forget with a failing backend reported success")
	}
	r := f.reopen(t)
	mustCheckOK(t, r)
	if manifestStored(t, f.Backend, id2) {
		t.Fatal("restart did not finish the interrupted forget")
	}
	// Repeating a finished forget says the snapshot is unknown.
	if err := r.ForgetSnapshot(context.Background(), id2); !errors.Is(err, repo.ErrUnknownSnapshot) {
		t.Fatalf("repeated forget: %v", err)
	}
	delete(f.disks, id+"/a.raw")
	delete(f.disks, id+"/b.raw")
	delete(f.disks, id2+"/c.raw")
	f.verifyRestores(t)
}

// A manifest in the backend that the index does not list keeps its data
// through a prune: a rebuilt index or a restart lists it again, and it must
// restore then.
func TestPruneKeepsDataOfUnlistedManifests(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	lost := f.rcs[1].Snapshot // VM2's snapshot: its unique chunks are its own
	if err := f.Index.DeleteSnapshot(lost); err != nil {
		t.Fatal(err)
	}
	res, err := f.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksDeleted != 0 {
		t.Fatalf("prune deleted %d packs of an unlisted manifest", res.PacksDeleted)
	}
	r := f.reopen(t)
	mustCheckOK(t, r)
	if _, err := r.Snapshot(lost); err != nil {
		t.Fatal(err)
	}
	f.verifyRestores(t)
}

// A rebuild never unlists a snapshot: a listed snapshot whose manifest the
// backend lost, or holds damaged, keeps its listing and gets its manifest
// back from the index record.
func TestRebuildKeepsListedSnapshots(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	ctx := context.Background()
	gone, damaged := f.rcs[0].Snapshot, f.rcs[2].Snapshot
	if err := f.Backend.Remove(ctx, backend.Handle{Type: backend.TypeSnapshot, Name: gone}); err != nil {
		t.Fatal(err)
	}
	junk := []byte("{not a manifest")
	if err := f.Backend.Put(ctx, backend.Handle{Type: backend.TypeSnapshot, Name: damaged}, bytes.NewReader(junk), int64(len(junk))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Repo.RebuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{gone, damaged} {
		if _, err := f.Repo.Snapshot(id); err != nil {
			t.Fatalf("rebuild unlisted snapshot %s: %v", id, err)
		}
	}
	mustCheckOK(t, f.Repo)
	f.verifyRestores(t)
}

// hookBackend runs onList once, when a listing of the given type begins.
type hookBackend struct {
	backend.Backend
	t      backend.Type
	once   sync.Once
	onList func()
}

func (b *hookBackend) List(ctx context.Context, t backend.Type, fn func(backend.ObjectInfo) error) error {
	if t == b.t && b.onList != nil {
		b.once.Do(b.onList)
	}
	return b.Backend.List(ctx, t, fn)
}

// A forget that finishes while a rebuild reads the backend stays done: the
// rebuild does not list the snapshot again.
func TestRebuildDuringForget(t *testing.T) {
	hb := &hookBackend{Backend: mem.New(), t: backend.TypeProtect}
	f := &fixture{Server: testserver.Start(t, testserver.Options{Backend: hb}), disks: map[string][]byte{}}
	f.populate(t)
	id := f.rcs[0].Snapshot
	hb.onList = func() { // the first scan has read the manifests
		if err := f.Repo.ForgetSnapshot(context.Background(), id); err != nil {
			t.Error(err)
		}
	}
	if _, err := f.Repo.RebuildIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Repo.Snapshot(id); !errors.Is(err, repo.ErrUnknownSnapshot) {
		t.Fatalf("a rebuild listed a snapshot forgotten meanwhile: %v", err)
	}
	mustCheckOK(t, f.Repo)
	delete(f.disks, id+"/a.raw")
	delete(f.disks, id+"/b.raw")
	f.verifyRestores(t)
}

// Tokens and policies are kept in the backend: a rebuild of a lost index
// brings them back, and never a revoked token or a deleted policy.
func TestRebuildRestoresTokensAndPolicies(t *testing.T) {
	f := newFixture(t)
	keep, gone := []byte(`{"id":"keep","role":"agent","host":"HV01"}`), []byte(`{"id":"gone","role":"admin"}`)
	for id, rec := range map[string][]byte{"keep": keep, "gone": gone} {
		if err := f.Repo.PutToken(id, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Repo.DeleteToken("gone"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sql servers", "old"} {
		if err := f.Repo.PutPolicy(name, repo.Policy{KeepLast: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Repo.DeletePolicy("old"); err != nil {
		t.Fatal(err)
	}
	// The index is lost: an empty one, as after deleting index.db.
	if err := f.Index.Reset(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	_ = f.Index.Tokens(func(id string, _ []byte) error { ids = append(ids, id); return nil })
	for _, id := range ids {
		if err := f.Index.DeleteToken(id); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.Index.DeletePolicy("sql servers")
	st, err := f.Repo.RebuildIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	_ = f.Index.Tokens(func(id string, rec []byte) error { tokens[id] = string(rec); return nil })
	// The fixture's own admin token comes back too.
	if tokens["keep"] != string(keep) || tokens["gone"] != "" || len(tokens) != 2 || st.Tokens != 2 {
		t.Fatalf("tokens after the rebuild: %v (restored %d)", tokens, st.Tokens)
	}
	pols, err := f.Repo.Policies()
	if err != nil || len(pols) != 1 || pols["sql servers"].KeepLast != 2 || st.Policies != 1 {
		t.Fatalf("policies after the rebuild: %v %v (restored %d)", pols, err, st.Policies)
	}
}
