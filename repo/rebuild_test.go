package repo_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a test server over a fault-injecting in-memory backend.
type fixture struct {
	*testserver.Server
	fb    *faulty.Backend
	disks map[string][]byte // what each snapshot disk holds, by "snapshot/disk"
	rcs   []*receipt.Receipt
}

func newFixture(t *testing.T) *fixture {
	fb := faulty.New(mem.New())
	return &fixture{Server: testserver.Start(t, testserver.Options{Backend: fb}), fb: fb, disks: map[string][]byte{}}
}

// content returns n bytes of incompressible data made from seed, of which
// the first half repeats shared (if any), so that backups share chunks.
func content(seed uint64, n int, shared []byte) []byte {
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	b := make([]byte, n)
	_, _ = r.Read(b)
	copy(b, shared[:min(len(shared), n/2)])
	return b
}

// backup backs up the given disks of vm over HTTP and records their content.
func (f *fixture) backup(t *testing.T, vm string, disks map[string][]byte) *receipt.Receipt {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, data := range disks {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	rc, err := agent.Backup(context.Background(), f.Client(""), agent.BackupOptions{
		Host: "HV01", VM: vm, Type: "full", Consistency: "application", Disks: paths,
		ReceiptKey: hex.EncodeToString(f.Key), Log: quiet,
	})
	if err != nil {
		t.Fatalf("backup %s: %v", vm, err)
	}
	for name, data := range disks {
		f.disks[rc.Snapshot+"/"+name] = data
	}
	f.rcs = append(f.rcs, rc)
	return rc
}

// populate makes three snapshots of two VMs that share content.
func (f *fixture) populate(t *testing.T) {
	shared := content(99, 3<<20, nil)
	f.backup(t, "VM1", map[string][]byte{"a.raw": content(1, 6<<20, shared), "b.raw": content(2, 2<<20+5, nil)})
	f.backup(t, "VM2", map[string][]byte{"c.raw": content(3, 5<<20, shared)})
	f.backup(t, "VM1", map[string][]byte{"a.raw": content(4, 6<<20, shared), "b.raw": content(2, 2<<20+5, nil)})
}

// catalogue is what the index says about the repository.
type catalogue struct {
	Chunks, Packs int
	PackBytes     int64
	Snapshots     map[string]*repo.Manifest
}

func (f *fixture) catalogue(t *testing.T) catalogue {
	t.Helper()
	var c catalogue
	var err error
	if c.Chunks, c.Packs, c.PackBytes, err = f.Index.Counts(); err != nil {
		t.Fatal(err)
	}
	list, err := f.Repo.Snapshots(repo.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	c.Snapshots = map[string]*repo.Manifest{}
	for _, m := range list {
		c.Snapshots[m.ID] = m
	}
	return c
}

// verifyRestores restores every recorded disk over HTTP and compares it.
func (f *fixture) verifyRestores(t *testing.T) {
	t.Helper()
	for key, want := range f.disks {
		snap, disk := filepath.Split(key)
		var buf bytes.Buffer
		if _, err := f.Client("").Restore(context.Background(), snap[:len(snap)-1], disk, "original", &buf, nil); err != nil {
			t.Fatalf("restore %s: %v", key, err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("restore %s: %d bytes differ from the %d backed up", key, buf.Len(), len(want))
		}
	}
}

// After the catalogue is lost, a rebuild from the backend alone brings back
// the same snapshots, stats, restores and receipts; tokens survive.
func TestRebuildIndex(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	before := f.catalogue(t)
	if len(before.Snapshots) != 3 || before.Packs < 3 {
		t.Fatalf("fixture: %d snapshots, %d packs", len(before.Snapshots), before.Packs)
	}
	if err := f.Index.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := f.catalogue(t); len(got.Snapshots) != 0 || got.Chunks != 0 {
		t.Fatalf("after Reset: %d snapshots, %d chunks", len(got.Snapshots), got.Chunks)
	}
	st, err := f.Repo.RebuildIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := f.catalogue(t)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("catalogue after rebuild differs:\nbefore %d chunks %d packs %d bytes %d snapshots\nafter  %d chunks %d packs %d bytes %d snapshots",
			before.Chunks, before.Packs, before.PackBytes, len(before.Snapshots), after.Chunks, after.Packs, after.PackBytes, len(after.Snapshots))
	}
	if st.Packs != before.Packs || st.Chunks != before.Chunks || st.PackBytes != before.PackBytes ||
		st.Snapshots != 3 || len(st.Skipped) != 0 {
		t.Fatalf("stats %+v, want %d packs, %d chunks, %d bytes, 3 snapshots", st, before.Packs, before.Chunks, before.PackBytes)
	}
	f.verifyRestores(t) // with the admin token: tokens survived
	for _, rc := range f.rcs {
		got, err := f.Repo.CompleteSession(context.Background(), rc.Session)
		if err != nil || !reflect.DeepEqual(*got, *rc) {
			t.Fatalf("complete of session %s after rebuild: %v, receipt equal: %v", rc.Session, err, err == nil && reflect.DeepEqual(*got, *rc))
		}
	}
	if res, err := f.Repo.Check(context.Background()); err != nil || !res.OK {
		t.Fatalf("check after rebuild: %+v, %v", res, err)
	}
}

// Damaged packs and manifests are left out and reported; the rest is
// rebuilt as before.
func TestRebuildSkipsDamaged(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	before := f.catalogue(t)
	ctx := context.Background()
	put := func(h backend.Handle, data []byte) {
		if err := f.Backend.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	// A truncated copy of a real pack, a foreign object among the packs,
	// a manifest that is not JSON and one stored under another id.
	var some backend.ObjectInfo
	_ = f.Backend.List(ctx, backend.TypePack, func(fi backend.ObjectInfo) error { some = fi; return nil })
	data, err := backend.ReadAll(ctx, f.Backend, some.Handle)
	if err != nil {
		t.Fatal(err)
	}
	truncated := backend.Handle{Type: backend.TypePack, Name: chunk.Sum([]byte("truncated")).String()}
	put(truncated, data[:len(data)-10])
	put(backend.Handle{Type: backend.TypePack, Name: "README"}, []byte("not a pack"))
	put(backend.Handle{Type: backend.TypeSnapshot, Name: "garbage"}, []byte("{not json"))
	m := before.Snapshots[f.rcs[0].Snapshot]
	moved, _ := json.Marshal(m)
	put(backend.Handle{Type: backend.TypeSnapshot, Name: "moved"}, moved)

	st, err := f.Repo.RebuildIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, s := range st.Skipped {
		skipped = append(skipped, s.Object)
	}
	want := []string{"packs/" + truncated.Name, "packs/README", "snapshots/garbage", "snapshots/moved"}
	sort.Strings(want)
	if !reflect.DeepEqual(skipped, want) {
		t.Fatalf("skipped %v, want %v", skipped, want)
	}
	if after := f.catalogue(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("catalogue differs: %d/%d snapshots, %d/%d packs", len(after.Snapshots), len(before.Snapshots), after.Packs, before.Packs)
	}
	f.verifyRestores(t)
}

// A rebuild refuses to run while a session is open, and then leaves the
// index alone.
func TestRebuildRefusesWhileSessionOpen(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	before := f.catalogue(t)
	ctx := context.Background()
	id, err := f.Client("").OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "VM3", BackupType: "full", Consistency: "application"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Repo.RebuildIndex(ctx); !errors.Is(err, repo.ErrBusy) {
		t.Fatalf("rebuild with a session open: %v, want ErrBusy", err)
	}
	if got := f.catalogue(t); !reflect.DeepEqual(before, got) {
		t.Fatal("a refused rebuild changed the index")
	}
	if err := f.Client("").Abort(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Repo.RebuildIndex(ctx); err != nil {
		t.Fatalf("rebuild after the abort: %v", err)
	}
}

// A storage error while reading the backend fails the rebuild before the
// index is touched; short reads are read again, not taken for damage.
func TestRebuildStorageFaults(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	before := f.catalogue(t)
	ctx := context.Background()

	f.fb.FailReadAt(f.fb.Calls(faulty.OpReadAt)+3, 0, backend.ErrTransient)
	if _, err := f.Repo.RebuildIndex(ctx); !errors.Is(err, backend.ErrTransient) {
		t.Fatalf("rebuild with failing reads: %v, want ErrTransient", err)
	}
	if got := f.catalogue(t); !reflect.DeepEqual(before, got) {
		t.Fatal("a failed rebuild changed the index")
	}
	f.fb.Heal()

	// Each of the next 6 reads returns half of what it was asked for
	// (a read of one byte would return none, so they cannot all be short).
	f.fb.ShortReads(f.fb.Calls(faulty.OpReadAt)+1, 6, nil)
	st, err := f.Repo.RebuildIndex(ctx)
	if err != nil || len(st.Skipped) != 0 {
		t.Fatalf("rebuild with short reads: %v, skipped %v", err, st.Skipped)
	}
	f.fb.Heal()
	if got := f.catalogue(t); !reflect.DeepEqual(before, got) {
		t.Fatal("rebuild with short reads: catalogue differs")
	}
}

// Protection is kept in the backend as a marker; a rebuild restores the
// index's marks from the markers, and drops marks without one.
func TestRebuildRestoresProtection(t *testing.T) {
	f := newFixture(t)
	f.populate(t)
	ctx := context.Background()
	kept, stale := f.rcs[0].Snapshot, f.rcs[1].Snapshot
	if err := f.Repo.SetProtected(ctx, kept, true); err != nil {
		t.Fatal(err)
	}
	// The index forgets the first mark and holds one the backend lacks.
	if err := f.Index.SetProtected(kept, false); err != nil {
		t.Fatal(err)
	}
	if err := f.Index.SetProtected(stale, true); err != nil {
		t.Fatal(err)
	}
	st, err := f.Repo.RebuildIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Repo.Protected()
	if err != nil || !reflect.DeepEqual(got, map[string]bool{kept: true}) || st.Protected != 1 {
		t.Fatalf("protected after rebuild: %v (%v), stats say %d; want only %s", got, err, st.Protected, kept)
	}
}
