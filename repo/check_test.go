package repo_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
)

// checkFixture backs up two VMs with nothing in common, so that each pack
// belongs to the disk of one snapshot only.
func checkFixture(t *testing.T) (*fixture, *repo.Manifest, *repo.Manifest) {
	f := newFixture(t)
	a := f.backup(t, "VM1", map[string][]byte{"a.raw": content(11, 9<<20, nil)})
	b := f.backup(t, "VM2", map[string][]byte{"b.raw": content(12, 9<<20, nil)})
	ma, err := f.Repo.Snapshot(a.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := f.Repo.Snapshot(b.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	return f, ma, mb
}

// firstPack returns the pack holding the first data chunk of the disk.
func firstPack(t *testing.T, f *fixture, m *repo.Manifest) backend.Handle {
	t.Helper()
	dm, err := f.Repo.LoadDiskMap(context.Background(), m.Disks[0].DiskMap)
	if err != nil {
		t.Fatal(err)
	}
	var first chunk.ID
	dm.Chunks(func(id chunk.ID) {
		if first.IsZero() {
			first = id
		}
	})
	loc, ok, err := f.Index.Lookup(first)
	if err != nil || !ok {
		t.Fatalf("lookup: %v %v", ok, err)
	}
	return backend.Handle{Type: backend.TypePack, Name: loc.Pack.String()}
}

func TestCheckClean(t *testing.T) {
	f, _, _ := checkFixture(t)
	res, err := f.Repo.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || len(res.Damaged) != 0 || len(res.Problems) != 0 || res.Snapshots != 2 || res.Disks != 2 || res.Chunks == 0 || res.Packs < 2 {
		t.Fatalf("clean repository: %+v", res)
	}
}

// Each kind of damage is found and blamed on the disks it hurts, and only
// on them.
func TestCheckFindsDamage(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, f *fixture, a *repo.Manifest)
		reason string
	}{
		{"pack removed", func(t *testing.T, f *fixture, a *repo.Manifest) {
			if err := f.Backend.Remove(ctx, firstPack(t, f, a)); err != nil {
				t.Fatal(err)
			}
		}, "missing from the backend"},
		{"trailer damaged", func(t *testing.T, f *fixture, a *repo.Manifest) {
			h := firstPack(t, f, a)
			data, err := backend.ReadAll(ctx, f.Backend, h)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-60] ^= 1
			if err := f.Backend.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
		}, "corrupt pack"},
		{"disk map removed", func(t *testing.T, f *fixture, a *repo.Manifest) {
			h := backend.Handle{Type: backend.TypeDiskMap, Name: a.Disks[0].DiskMap.String()}
			if err := f.Backend.Remove(ctx, h); err != nil {
				t.Fatal(err)
			}
		}, "load disk map"},
		{"chunks not indexed", func(t *testing.T, f *fixture, a *repo.Manifest) {
			// The pack is lost and the index rebuilt without it.
			if err := f.Backend.Remove(ctx, firstPack(t, f, a)); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Repo.RebuildIndex(ctx); err != nil {
				t.Fatal(err)
			}
		}, "chunk missing from the index"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, a, b := checkFixture(t)
			c.damage(t, f, a)
			res, err := f.Repo.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []repo.DamagedDisk{{Snapshot: a.ID, Disk: "a.raw"}}
			got := append([]repo.DamagedDisk(nil), res.Damaged...)
			for i := range got {
				if !strings.Contains(got[i].Reason, c.reason) {
					t.Errorf("reason %q, want it to mention %q", got[i].Reason, c.reason)
				}
				got[i].Reason = ""
			}
			if res.OK || !reflect.DeepEqual(got, want) {
				t.Fatalf("ok=%v damaged %+v, want only %s/a.raw (not %s)", res.OK, res.Damaged, a.ID, b.ID)
			}
		})
	}
}

// A manifest missing from the backend is a problem (a rebuild would lose
// the snapshot), though its disks still restore.
func TestCheckMissingManifest(t *testing.T) {
	f, a, _ := checkFixture(t)
	ctx := context.Background()
	if err := f.Backend.Remove(ctx, backend.Handle{Type: backend.TypeSnapshot, Name: a.ID}); err != nil {
		t.Fatal(err)
	}
	res, err := f.Repo.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || len(res.Damaged) != 0 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], a.ID) {
		t.Fatalf("check: %+v", res)
	}
}

// A storage error makes the check fail rather than report damage.
func TestCheckStorageError(t *testing.T) {
	f, _, _ := checkFixture(t)
	f.fb.FailReadAt(f.fb.Calls(faulty.OpReadAt)+1, 0, backend.ErrTransient)
	if res, err := f.Repo.Check(context.Background()); !errors.Is(err, backend.ErrTransient) {
		t.Fatalf("check with failing reads: %+v, %v; want ErrTransient", res, err)
	}
}
