package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/crypt"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/sealed"
	restorepkg "github.com/shadowvault/shadowvault/restore"
)

const encMarker = "SHADOWVAULT-PLAINTEXT-MARKER-"

// markedDisk is a mixed disk with a marker string written all over it.
func markedDisk(seed uint64, size int) []byte {
	d := mixed(seed, size)
	for off := 4096; off+64 < size; off += 256 << 10 {
		copy(d[off:], encMarker+"0123456789")
	}
	return d
}

// allObjects returns every object of the raw backend.
func allObjects(t *testing.T, be backend.Backend) map[backend.Handle][]byte {
	t.Helper()
	ctx := context.Background()
	out := map[backend.Handle][]byte{}
	for _, ty := range backend.Types {
		err := be.List(ctx, ty, func(fi backend.ObjectInfo) error {
			b, err := backend.ReadAll(ctx, be, fi.Handle)
			out[fi.Handle] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestEncryptedRepository backs up one disk from two hosts into an
// encrypted repository: it restores byte-identical, checks clean with
// every pack read, the second host stores (almost) nothing new, and no
// stored object shows the content, the host or VM names, or the plain
// BLAKE3 ID of any chunk.
func TestEncryptedRepository(t *testing.T) {
	s := testserver.Start(t, testserver.Options{Encrypted: true})
	ctx := context.Background()
	disk := markedDisk(11, 24<<20)
	p := writeDisk(t, t.TempDir(), "disk0.raw", disk)
	rc := backup(t, s, "hyperv-enc-alpha", "SQL-ENC-ONE", p)
	_, _, before, _ := s.Repo.Counts()
	rc2 := backup(t, s, "hyperv-enc-beta", "SQL-ENC-TWO", p)
	_, _, after, _ := s.Repo.Counts()
	if grown := after - before; grown > 64<<10 {
		t.Errorf("the second host's identical disk added %d stored bytes: no dedup across hosts", grown)
	}
	for _, id := range []string{rc.Snapshot, rc2.Snapshot} {
		if got := restore(t, s, id, "disk0.raw", "raw"); !bytes.Equal(got, disk) {
			t.Fatalf("snapshot %s does not restore byte-identical", id)
		}
	}
	res, err := s.Repo.CheckData(ctx, repo.CheckOptions{ReadDataPercent: 100})
	if err != nil || !res.OK || res.PacksRead == 0 {
		t.Fatalf("check --read-data 100: %v %+v", err, res)
	}
	// Everything else the server keeps in the repository: a host-scoped
	// token, a policy, a protection marker, a signed link.
	if _, _, err := s.Tokens.Create(apiv1.RoleAgent, "hyperv-enc-alpha"); err != nil {
		t.Fatal(err)
	}
	policy := `{"match":{"host":"hyperv-enc-alpha","vm":"SQL-ENC-ONE"},"keep_daily":7}`
	if st, code := call(t, s, "PUT", "/api/v1/policies/enc-policy", s.AdminToken, strings.NewReader(policy)); st != 200 {
		t.Fatalf("policy: %d %s", st, code)
	}
	if st, code := call(t, s, "PUT", "/api/v1/snapshots/"+rc.Snapshot+"/protected", s.AdminToken, strings.NewReader("true")); st != 200 {
		t.Fatalf("protect: %d %s", st, code)
	}
	createLink(t, s.Client(""), rc.Snapshot, "disk0.raw", apiv1.LinkRequest{Format: "raw", ExpiresIn: 3600})

	objects := allObjects(t, s.Backend)
	var needles []string
	needles = append(needles, encMarker, "hyperv-enc-alpha", "SQL-ENC-ONE", "disk0.raw")
	chunks := 0
	err = s.Index.ForEachChunk(func(id chunk.ID, _ index.Location) error {
		data, err := s.Repo.LoadChunk(ctx, nil, id)
		if err != nil {
			return err
		}
		plain := chunk.Sum(data)
		if plain == id {
			t.Fatalf("chunk %s: the ID is the plain BLAKE3", id.Short())
		}
		needles = append(needles, string(plain[:]), plain.String())
		chunks++
		return nil
	})
	if err != nil || chunks == 0 {
		t.Fatalf("walk chunks: %v (%d)", err, chunks)
	}
	for h, b := range objects {
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Fatalf("object %s shows %q in the clear", h, strings.ToValidUTF8(n[:min(len(n), 24)], "?"))
			}
		}
	}
}

// TestEncryptedTampering changes stored bytes with the storage's own
// access: a chunk blob, a disk map, a manifest moved over another. Each
// is detected on read and named.
func TestEncryptedTampering(t *testing.T) {
	s := testserver.Start(t, testserver.Options{Encrypted: true})
	ctx := context.Background()
	disk := markedDisk(12, 8<<20)
	p := writeDisk(t, t.TempDir(), "disk0.raw", disk)
	rc := backup(t, s, "h1", "vm1", p)
	rc2 := backup(t, s, "h1", "vm2", writeDisk(t, t.TempDir(), "disk0.raw", markedDisk(13, 4<<20)))

	// One byte in the middle of a chunk blob.
	var victim chunk.ID
	var loc index.Location
	_ = s.Index.ForEachChunk(func(id chunk.ID, l index.Location) error {
		victim, loc = id, l
		return errors.New("stop")
	})
	ph := backend.Handle{Type: backend.TypePack, Name: loc.Pack.String()}
	orig, _ := backend.ReadAll(ctx, s.Backend, ph)
	bad := bytes.Clone(orig)
	bad[loc.Entry.Offset+uint64(loc.Entry.Length)/2] ^= 0x40
	putRaw(t, s.Backend, ph, bad)
	if _, err := s.Repo.LoadChunk(ctx, nil, victim); err == nil || !strings.Contains(err.Error(), victim.Short()) {
		t.Fatalf("tampered chunk read: %v", err)
	}
	res, err := s.Repo.CheckData(ctx, repo.CheckOptions{ReadDataPercent: 100})
	if err != nil || res.OK || !strings.Contains(strings.Join(res.Problems, "\n"), victim.Short()) {
		t.Fatalf("check --read-data does not name the tampered chunk %s: %v %+v", victim.Short(), err, res.Problems)
	}
	putRaw(t, s.Backend, ph, orig)

	// A disk map.
	m, _ := s.Repo.Snapshot(rc.Snapshot)
	mh := backend.Handle{Type: backend.TypeDiskMap, Name: m.Disks[0].DiskMap.String()}
	mo, _ := backend.ReadAll(ctx, s.Backend, mh)
	mb := bytes.Clone(mo)
	mb[len(mb)-20] ^= 1
	putRaw(t, s.Backend, mh, mb)
	if _, err := s.Repo.LoadDiskMap(ctx, m.Disks[0].DiskMap); !errors.Is(err, sealed.ErrTampered) {
		t.Fatalf("tampered disk map: %v", err)
	}
	putRaw(t, s.Backend, mh, mo)

	// One snapshot's manifest copied over the other's: a rebuild of the
	// catalogue must not take it for the other snapshot.
	h1 := backend.Handle{Type: backend.TypeSnapshot, Name: rc.Snapshot}
	h2 := backend.Handle{Type: backend.TypeSnapshot, Name: rc2.Snapshot}
	m2, _ := backend.ReadAll(ctx, s.Backend, h2)
	putRaw(t, s.Backend, h1, m2)
	if _, err := backend.ReadAll(ctx, sealed.New(s.Backend, crypt.Derive(*s.MasterKey)), h1); !errors.Is(err, sealed.ErrTampered) {
		t.Fatalf("manifest moved over another: %v", err)
	}
}

func putRaw(t *testing.T, be backend.Backend, h backend.Handle, b []byte) {
	t.Helper()
	if err := be.Put(context.Background(), h, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// TestEncryptedRebuildAndKeySlots loses the index, opens the repository
// again from its passphrase alone, rebuilds the catalogue, and manages key
// slots: add a key file, drop the passphrase, refuse to drop the last.
func TestEncryptedRebuildAndKeySlots(t *testing.T) {
	s := testserver.Start(t, testserver.Options{Encrypted: true, Passphrase: "open sesame"})
	ctx := context.Background()
	disk := markedDisk(14, 8<<20)
	rc := backup(t, s, "h1", "vm1", writeDisk(t, t.TempDir(), "disk0.raw", disk))

	open := func(master *crypt.MasterKey) (*repo.Repository, error) {
		idx, err := index.Open(filepath.Join(t.TempDir(), "index.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = idx.Close() })
		_, priv, _ := ed25519.GenerateKey(nil)
		return repo.Open(ctx, s.Backend, idx, repo.Options{Logger: quiet, ReceiptKey: priv, MasterKey: master})
	}
	if _, err := open(nil); !errors.Is(err, repo.ErrLocked) {
		t.Fatalf("opened without a key: %v", err)
	}
	wrong, _ := crypt.NewMasterKey()
	if _, err := open(&wrong); !errors.Is(err, crypt.ErrWrongKey) {
		t.Fatalf("opened with another key: %v", err)
	}
	if _, err := repo.Unlock(ctx, s.Backend, []byte("open sesamE")); !errors.Is(err, crypt.ErrWrongKey) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	master, err := repo.Unlock(ctx, s.Backend, []byte("open sesame"))
	if err != nil || !master.Equal(*s.MasterKey) {
		t.Fatalf("unlock: %v", err)
	}
	r, err := open(&master)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	st, err := r.RebuildIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snaps, _ := r.Snapshots(repo.Filter{}); len(snaps) != 1 || snaps[0].ID != rc.Snapshot {
		t.Fatalf("rebuilt catalogue: %+v (%+v)", snaps, st)
	}
	var got bytes.Buffer
	if err := restoreWith(ctx, r, rc.Snapshot, "disk0.raw", &got); err != nil || !bytes.Equal(got.Bytes(), disk) {
		t.Fatalf("restore after rebuild: %v", err)
	}

	// Key slots.
	slots, _ := repo.KeySlots(ctx, s.Backend)
	if len(slots) != 1 {
		t.Fatalf("%d slots", len(slots))
	}
	kf, _ := crypt.NewKeyFile()
	ks, _ := crypt.NewKeyFileSlot(master, kf, "vault")
	if err := repo.AddKeySlot(ctx, s.Backend, ks, kf); err != nil {
		t.Fatal(err)
	}
	foreign, _ := crypt.NewKeyFileSlot(wrong, kf, "foreign")
	if err := repo.AddKeySlot(ctx, s.Backend, foreign, kf); !errors.Is(err, crypt.ErrWrongKey) {
		t.Fatalf("a slot of another master key was added: %v", err)
	}
	if err := repo.RemoveKeySlot(ctx, s.Backend, slots[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Unlock(ctx, s.Backend, []byte("open sesame")); !errors.Is(err, crypt.ErrWrongKey) {
		t.Fatalf("removed passphrase still opens: %v", err)
	}
	if m, err := repo.Unlock(ctx, s.Backend, kf); err != nil || !m.Equal(master) {
		t.Fatalf("key file: %v", err)
	}
	if err := repo.RemoveKeySlot(ctx, s.Backend, ks.ID); !errors.Is(err, repo.ErrLastKeySlot) {
		t.Fatalf("last slot removed: %v", err)
	}
	if err := repo.RemoveKeySlot(ctx, s.Backend, "0000"); !errors.Is(err, repo.ErrKeySlotNotFound) {
		t.Fatalf("unknown slot: %v", err)
	}
}

func restoreWith(ctx context.Context, r *repo.Repository, snap, disk string, w *bytes.Buffer) error {
	m, err := r.Snapshot(snap)
	if err != nil {
		return err
	}
	d, err := restorepkg.Open(ctx, r, m, disk, restorepkg.Raw)
	if err != nil {
		return err
	}
	_, err = d.WriteTo(w)
	return err
}
