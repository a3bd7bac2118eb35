package s3e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/retry"
	"github.com/shadowvault/shadowvault/repo/backend/s3"
)

// lockedS3 opens a fresh bucket with Object Lock (compliance, period, no
// slack) and returns the s3 backend and the chain serve uses, with a
// fault wrapper inside the retries.
func lockedS3(tb testing.TB, period time.Duration) (*s3.Backend, *faulty.Backend, backend.Backend) {
	tb.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(tb.Name()))
	bucket := fmt.Sprintf("e%d-%s", buckets.Add(1), strings.Trim(name[:min(len(name), 40)], "-"))
	b, err := s3.Open(context.Background(), s3.Config{
		Endpoint: shared.Endpoint, Bucket: bucket, Prefix: "repo",
		AccessKey: shared.AccessKey, SecretKey: shared.SecretKey, CreateBucket: true,
		Lock: backend.LockPolicy{Mode: backend.LockCompliance, Period: period},
	})
	if err != nil {
		tb.Fatalf("open s3: %v", err)
	}
	tb.Cleanup(func() { b.Close() })
	f := faulty.New(b)
	return b, f, retry.New(f, retry.Options{BaseDelay: 20 * time.Millisecond})
}

// attacker is whoever stole the bucket's root credentials.
type attacker struct {
	c      *minio.Client
	bucket string
}

func newAttacker(tb testing.TB, bucket string) *attacker {
	c, err := minio.New(shared.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(shared.AccessKey, shared.SecretKey, "")})
	if err != nil {
		tb.Fatal(err)
	}
	return &attacker{c: c, bucket: bucket}
}

// wipe tries to delete every version of every object under prefix, with
// the governance bypass, and returns how many versions it could not.
func (a *attacker) wipe(tb testing.TB, prefix string) (survived int) {
	tb.Helper()
	ctx := context.Background()
	for obj := range a.c.ListObjectsIter(ctx, a.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			tb.Fatal(obj.Err)
		}
		err := a.c.RemoveObject(ctx, a.bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID, GovernanceBypass: true})
		if err != nil && !obj.IsDeleteMarker {
			survived++
		}
	}
	return survived
}

// lockedUntil returns the retention of every pack the index lists.
func lockedPacks(tb testing.TB, s *server, b *s3.Backend) map[string]time.Time {
	tb.Helper()
	out := map[string]time.Time{}
	err := s.Index.Packs(func(p index.PackInfo) error {
		h := backend.Handle{Type: backend.TypePack, Name: p.ID.String()}
		until, err := b.LockedUntil(context.Background(), h)
		out[h.Name] = until
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// The life of a locked repository: a receipt says until when its snapshot
// is immutable, and until then whoever holds the bucket's credentials can
// neither delete nor replace what it needs, including a pack it reuses
// from an older snapshot whose own lock has run out. A complete that fails
// after the locks were extended leaves no snapshot and nothing broken.
// Forget and prune hide what they remove at once and free the bytes once
// the locks end.
func TestObjectLockLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Object Lock retention dates; skipped with -short")
	}
	ctx := context.Background()
	const period = 6 * time.Second
	b, f, be := lockedS3(t, period)
	s := startServer(t, be, setup{})

	base := random(1, 3<<20)
	rc1 := backup(t, s, "SQL01", map[string][]byte{"disk0.raw": base})
	if want := rc1.CommittedAt.Add(period); !rc1.ImmutableUntil.Equal(want) {
		t.Fatalf("receipt: immutable_until %v, want committed_at + %v = %v", rc1.ImmutableUntil, period, want)
	}
	first := lockedPacks(t, s, b)
	for p, until := range first {
		if until.Before(rc1.ImmutableUntil) {
			t.Fatalf("pack %s locked until %v, before the receipt's %v", p, until, rc1.ImmutableUntil)
		}
	}
	for _, h := range []backend.Handle{{Type: backend.TypeSnapshot, Name: rc1.Snapshot}, {Type: backend.TypeConfig, Name: "config"}} {
		if until, err := b.LockedUntil(ctx, h); err != nil || until.Before(rc1.ImmutableUntil) {
			t.Fatalf("%s locked until %v (%v), before the receipt's %v", h, until, err, rc1.ImmutableUntil)
		}
	}

	// The same content again, later: the packs it reuses get a later lock.
	time.Sleep(2 * time.Second)
	rc2 := backup(t, s, "SQL02", map[string][]byte{"disk0.raw": base})
	for p, until := range lockedPacks(t, s, b) {
		if _, old := first[p]; old && until.Before(rc2.ImmutableUntil) {
			t.Fatalf("reused pack %s locked until %v, before the second receipt's %v", p, until, rc2.ImmutableUntil)
		}
	}

	// A complete whose manifest cannot be stored, after the locks were
	// extended: no receipt, no snapshot, and the repository checks clean.
	f.Inject(faulty.OpPut, faulty.Fault{From: 1, Type: backend.TypeSnapshot, Err: errors.New("injected: storage lost")})
	_, err := backupFiles(ctx, s, "SQL03", writeDisks(t, map[string][]byte{"disk0.raw": concat(base, random(3, 1<<20))})...)
	if err == nil {
		t.Fatal("a backup whose manifest was not stored got a receipt")
	}
	f.Heal()
	var list apiv1.SnapshotList
	adminJSON(t, s, http.MethodGet, "/api/v1/snapshots", "", &list)
	if len(list.Snapshots) != 2 {
		t.Fatalf("%d snapshots listed after the failed complete, want 2: %+v", len(list.Snapshots), list)
	}
	checkRepo(t, s)

	// Past the first snapshot's lock, the attacker wipes the bucket: the
	// second snapshot's objects all survive and restore.
	time.Sleep(time.Until(rc1.ImmutableUntil) + time.Second)
	if time.Now().After(rc2.ImmutableUntil) {
		t.Fatal("the test ran too slowly: the second snapshot's lock is over already")
	}
	a := newAttacker(t, b.Bucket())
	a.wipe(t, "repo/")
	if got := restore(t, s, rc2.Snapshot, "disk0.raw", "original"); !bytes.Equal(got, base) {
		t.Fatal("after the wipe the second snapshot does not restore")
	}

	// A prune renews the locks of what the catalogue keeps: the second
	// snapshot is immutable for a full period from the prune on.
	var renew struct {
		LocksExtended int `json:"locks_extended"`
	}
	pruned := time.Now().Truncate(time.Second)
	adminJSON(t, s, http.MethodPost, "/api/v1/prune", `{"grace":"1s"}`, &renew)
	if renew.LocksExtended == 0 {
		t.Fatalf("prune: %+v, want locks extended", renew)
	}
	for p, until := range lockedPacks(t, s, b) {
		if until.Before(pruned.Add(period)) {
			t.Fatalf("kept pack %s locked until %v after a prune at %v, want a period more", p, until, pruned)
		}
	}

	// Forget everything and prune: hidden at once, freed after the locks.
	for _, rc := range []string{rc1.Snapshot, rc2.Snapshot} {
		adminJSON(t, s, http.MethodDelete, "/api/v1/snapshots/"+rc, "", nil)
	}
	var pr struct {
		PacksDeleted int       `json:"packs_deleted"`
		BytesPurged  int64     `json:"bytes_purged"`
		BytesLocked  int64     `json:"bytes_locked"`
		LockedUntil  time.Time `json:"locked_until"`
	}
	adminJSON(t, s, http.MethodPost, "/api/v1/prune", `{"grace":"1s"}`, &pr)
	if pr.PacksDeleted == 0 || pr.BytesLocked == 0 || pr.LockedUntil.IsZero() {
		t.Fatalf("prune while locked: %+v, want packs deleted and their bytes locked", pr)
	}
	if n := objects(t, be, backend.TypePack); n != 0 {
		t.Fatalf("%d packs listed after the prune, want 0", n)
	}
	time.Sleep(time.Until(pr.LockedUntil) + 1500*time.Millisecond)
	adminJSON(t, s, http.MethodPost, "/api/v1/prune", `{"grace":"1s"}`, &pr)
	if pr.BytesPurged == 0 {
		t.Fatalf("prune after the locks: %+v, want bytes purged", pr)
	}
	left := 0
	for obj := range a.c.ListObjectsIter(ctx, b.Bucket(), minio.ListObjectsOptions{Prefix: "repo/packs/", Recursive: true, WithVersions: true}) {
		if obj.Err == nil {
			left++
		}
	}
	if left != 0 && pr.BytesLocked == 0 {
		t.Fatalf("%d pack versions left in the bucket after the purge", left)
	}
}

// Ransomware with the bucket's root credentials hides every object behind
// a delete marker and writes garbage over a pack and a manifest. Restores
// fail; repair versions brings back the locked versions of what the
// catalogue needs, and every kept snapshot restores byte-identical and
// checks clean, while a snapshot forgotten before the attack stays gone.
func TestObjectLockRevertAfterAttack(t *testing.T) {
	ctx := context.Background()
	b, _, be := lockedS3(t, time.Hour)
	s := startServer(t, be, setup{})
	want := map[string]map[string][]byte{}
	var gone string
	for i, vm := range []string{"SQL01", "EXCH01", "FS01"} {
		disks := map[string][]byte{"disk0.raw": concat(random(10, 2<<20), random(uint64(20+i), 1<<20))}
		rc := backup(t, s, vm, disks)
		if vm == "FS01" {
			gone = rc.Snapshot
			continue
		}
		want[rc.Snapshot] = disks
	}
	adminJSON(t, s, http.MethodDelete, "/api/v1/snapshots/"+gone, "", nil)
	adminJSON(t, s, http.MethodPost, "/api/v1/prune", `{"grace":"1s"}`, nil)

	a := newAttacker(t, b.Bucket())
	var pack, manifest string
	for obj := range a.c.ListObjectsIter(ctx, b.Bucket(), minio.ListObjectsOptions{Prefix: "repo/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		switch {
		case pack == "" && strings.HasPrefix(obj.Key, "repo/packs/"):
			pack = obj.Key
		case manifest == "" && strings.HasPrefix(obj.Key, "repo/snapshots/"):
			manifest = obj.Key
		}
		if err := a.c.RemoveObject(ctx, b.Bucket(), obj.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("hiding %s: %v", obj.Key, err)
		}
	}
	for _, key := range []string{pack, manifest} {
		junk := random(99, 4096)
		if _, err := a.c.PutObject(ctx, b.Bucket(), key, bytes.NewReader(junk), int64(len(junk)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("overwriting %s: %v", key, err)
		}
	}
	for snap := range want {
		var buf bytes.Buffer
		if _, err := s.client().Restore(ctx, snap, "disk0.raw", "original", &buf, nil); err == nil && bytes.Equal(buf.Bytes(), want[snap]["disk0.raw"]) {
			t.Fatalf("snapshot %s restored after the attack: the attack did nothing", snap)
		}
	}

	var res apiv1.RevertResult
	adminJSON(t, s, http.MethodPost, "/api/v1/repair/versions", "", &res)
	if res.Reverted["packs"] == 0 || res.Reverted["snapshots"] != len(want) || res.Reverted["config"] != 1 || res.Reverted["keys"] != 0 {
		t.Fatalf("repair versions: %+v, want packs, %d manifests and the config reverted", res, len(want))
	}
	checkRestores(t, s, want)
	checkRepo(t, s)
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.TypeSnapshot, Name: gone}); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("the manifest of the snapshot forgotten before the attack is back: %v", err)
	}
	// Nothing left to revert.
	adminJSON(t, s, http.MethodPost, "/api/v1/repair/versions", "", &res)
	for typ, n := range res.Reverted {
		if n != 0 {
			t.Fatalf("a second repair reverted %d %s", n, typ)
		}
	}
}
