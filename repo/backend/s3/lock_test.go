package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/backendtest"
)

// lockConfig is serverConfig with Object Lock on, in mode, for period.
func lockConfig(t *testing.T, mode backend.LockMode, period time.Duration) Config {
	cfg := serverConfig(t, shared)
	cfg.Lock = backend.LockPolicy{Mode: mode, Period: period}
	return cfg
}

// A locking backend is still a backend: removed objects vanish from
// sight, replaced ones read as the new bytes.
func TestLockConformance(t *testing.T) {
	cfg := lockConfig(t, backend.LockCompliance, time.Hour)
	n := 0
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		n++
		c := cfg
		c.Prefix = fmt.Sprintf("conformance/%d/repo", n)
		return open(t, c)
	})
}

func putObject(t *testing.T, b backend.Backend, h backend.Handle, data []byte) {
	t.Helper()
	if err := b.Put(context.Background(), h, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("put %s: %v", h, err)
	}
}

// versions lists the versions of key, newest first.
func versionsOf(t *testing.T, b *Backend, key string) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for obj := range b.client.ListObjectsIter(context.Background(), b.cfg.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if obj.Key == key {
			out = append(out, obj)
		}
	}
	return out
}

func readVersion(t *testing.T, b *Backend, key, id string) []byte {
	t.Helper()
	obj, err := b.client.GetObject(context.Background(), b.cfg.Bucket, key, minio.GetObjectOptions{VersionID: id})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s version %s: %v", key, id, err)
	}
	return data
}

// Whoever holds the bucket's own root credentials (ransomware that stole
// them) cannot delete a locked pack or manifest, shorten its lock, or
// replace its bytes: every attempt fails or leaves the locked version as
// it was.
func TestLockedObjectsResistTheBucketOwner(t *testing.T) {
	ctx := context.Background()
	b := open(t, lockConfig(t, backend.LockCompliance, time.Hour))
	for _, h := range []backend.Handle{{Type: backend.TypePack, Name: "p1"}, {Type: backend.TypeSnapshot, Name: "s1"}} {
		data := []byte("the backup of " + h.String())
		putObject(t, b, h, data)
		key := b.key(h)
		vs := versionsOf(t, b, key)
		if len(vs) != 1 {
			t.Fatalf("%s: %d versions, want 1", h, len(vs))
		}
		id := vs[0].VersionID
		if until, err := b.LockedUntil(ctx, h); err != nil || time.Until(until) < 59*time.Minute {
			t.Fatalf("%s locked until %v (%v), want an hour from now", h, until, err)
		}
		c := b.client
		if err := c.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: id}); err == nil {
			t.Errorf("%s: deleting the locked version succeeded", h)
		}
		if err := c.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: id, GovernanceBypass: true}); err == nil {
			t.Errorf("%s: deleting the locked version with the governance bypass succeeded", h)
		}
		if err := c.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{ForceDelete: true}); err == nil {
			t.Logf("%s: force delete answered success", h)
		}
		short := time.Now().Add(time.Minute)
		mode := minio.Compliance
		if err := c.PutObjectRetention(ctx, b.cfg.Bucket, key, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &short, VersionID: id}); err == nil {
			t.Errorf("%s: shortening the lock succeeded", h)
		}
		gov := minio.Governance
		if err := c.PutObjectRetention(ctx, b.cfg.Bucket, key, minio.PutObjectRetentionOptions{Mode: &gov, RetainUntilDate: &short, VersionID: id, GovernanceBypass: true}); err == nil {
			t.Errorf("%s: turning the lock into governance succeeded", h)
		}
		if _, err := c.PutObject(ctx, b.cfg.Bucket, key, bytes.NewReader([]byte("encrypted by ransomware")), 23, minio.PutObjectOptions{}); err != nil {
			t.Logf("%s: overwrite refused: %v", h, err)
		}
		if got := readVersion(t, b, key, id); !bytes.Equal(got, data) {
			t.Errorf("%s: the locked version now reads %q", h, got)
		}
		if until, err := b.LockedUntil(ctx, backend.Handle{Type: h.Type, Name: h.Name}); err == nil && !until.IsZero() && time.Until(until) < 59*time.Minute {
			t.Errorf("%s: current version locked until %v", h, until)
		}
		// Deleting every version there is leaves the locked one.
		for _, v := range versionsOf(t, b, key) {
			c.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: v.VersionID, GovernanceBypass: true})
		}
		if got := readVersion(t, b, key, id); !bytes.Equal(got, data) {
			t.Errorf("%s: after deleting all versions the locked one reads %q", h, got)
		}
	}
	// A token, policy or job record is not locked: the server rewrites and
	// deletes those.
	tok := backend.Handle{Type: backend.TypeToken, Name: "t1"}
	putObject(t, b, tok, []byte("token"))
	if until, err := b.LockedUntil(ctx, tok); err != nil || !until.IsZero() {
		t.Errorf("token locked until %v (%v), want no lock", until, err)
	}
}

// In governance mode, deleting a locked version needs the bypass
// permission; without it the delete fails.
func TestGovernanceLockNeedsBypass(t *testing.T) {
	ctx := context.Background()
	b := open(t, lockConfig(t, backend.LockGovernance, time.Hour))
	h := backend.Handle{Type: backend.TypePack, Name: "p1"}
	putObject(t, b, h, []byte("pack"))
	vs := versionsOf(t, b, b.key(h))
	err := b.client.RemoveObject(ctx, b.cfg.Bucket, b.key(h), minio.RemoveObjectOptions{VersionID: vs[0].VersionID})
	if err == nil {
		t.Fatal("deleting a governance-locked version without the bypass succeeded")
	}
}

// ExtendLock moves a retention date later and never earlier; LockedUntil
// reads it back.
func TestExtendLock(t *testing.T) {
	ctx := context.Background()
	b := open(t, lockConfig(t, backend.LockCompliance, 5*time.Second))
	h := backend.Handle{Type: backend.TypeDiskMap, Name: "m1"}
	putObject(t, b, h, []byte("map"))
	until, err := b.LockedUntil(ctx, h)
	if err != nil || time.Until(until) > 10*time.Second || time.Until(until) < 0 {
		t.Fatalf("locked until %v (%v), want about 5 s from now", until, err)
	}
	later := time.Now().Add(2 * time.Hour)
	if err := b.ExtendLock(ctx, h, later); err != nil {
		t.Fatal(err)
	}
	if got, err := b.LockedUntil(ctx, h); err != nil || got.Before(later.Truncate(time.Second)) {
		t.Fatalf("after extending to %v: locked until %v (%v)", later, got, err)
	}
	if err := b.ExtendLock(ctx, h, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("extending to an earlier date: %v, want nil", err)
	}
	if got, _ := b.LockedUntil(ctx, h); got.Before(later.Truncate(time.Second)) {
		t.Fatalf("an earlier date shortened the lock to %v", got)
	}
	if err := b.ExtendLock(ctx, backend.Handle{Type: backend.TypePack, Name: "missing"}, later); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("extending a missing object: %v, want ErrNotFound", err)
	}
}

// A removed locked object is hidden at once; its bytes stay until the
// retention has passed, and then Purge frees them.
func TestPurgeAfterRetention(t *testing.T) {
	ctx := context.Background()
	period := 3 * time.Second
	b := open(t, lockConfig(t, backend.LockCompliance, period))
	gone := backend.Handle{Type: backend.TypePack, Name: "gone"}
	kept := backend.Handle{Type: backend.TypePack, Name: "kept"}
	putObject(t, b, gone, bytes.Repeat([]byte("g"), 1000))
	putObject(t, b, kept, bytes.Repeat([]byte("k"), 500))
	if err := b.Remove(ctx, gone); err != nil {
		t.Fatalf("remove of a locked object: %v, want it hidden", err)
	}
	if _, err := b.Stat(ctx, gone); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("stat of a removed object: %v, want ErrNotFound", err)
	}
	st, err := b.Purge(ctx, backend.TypePack)
	if err != nil {
		t.Fatal(err)
	}
	if st.VersionsLocked != 1 || st.BytesLocked != 1000 || st.BytesFreed != 0 || st.NextUnlock.IsZero() {
		t.Fatalf("purge while locked: %+v, want 1 version of 1000 bytes locked", st)
	}
	if _, err := b.Stat(ctx, gone); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("a purge of a locked object brought it back: %v", err)
	}
	time.Sleep(time.Until(st.NextUnlock) + 1500*time.Millisecond)
	st, err = b.Purge(ctx, backend.TypePack)
	if err != nil {
		t.Fatal(err)
	}
	if st.BytesFreed != 1000 || st.VersionsDeleted != 2 || st.VersionsLocked != 0 {
		t.Fatalf("purge after the retention: %+v, want 1000 bytes and the marker deleted", st)
	}
	if vs := versionsOf(t, b, b.key(gone)); len(vs) != 0 {
		t.Fatalf("%d versions of the purged object left", len(vs))
	}
	if vs := versionsOf(t, b, b.key(kept)); len(vs) != 1 {
		t.Fatalf("the current object has %d versions after the purge, want 1", len(vs))
	}
}

// Locking needs a bucket created with Object Lock.
func TestLockNeedsALockingBucket(t *testing.T) {
	cfg := serverConfig(t, shared)
	open(t, cfg) // creates the bucket without Object Lock
	cfg.Lock = backend.LockPolicy{Mode: backend.LockCompliance, Period: time.Hour}
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrNoObjectLock) {
		t.Fatalf("open with lock on a plain bucket: %v, want ErrNoObjectLock", err)
	}
}

// A removed object (a delete marker in a locking bucket) is missing for
// the retention calls too: a prune renewing locks while a forget removes
// a manifest skips it.
func TestLockCallsOnARemovedObject(t *testing.T) {
	ctx := context.Background()
	b := open(t, lockConfig(t, backend.LockCompliance, time.Hour))
	h := backend.Handle{Type: backend.TypeSnapshot, Name: "s1"}
	putObject(t, b, h, []byte("manifest"))
	if err := b.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockedUntil(ctx, h); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("retention of a removed object: %v, want ErrNotFound", err)
	}
	if err := b.ExtendLock(ctx, h, time.Now().Add(2*time.Hour)); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("extending the lock of a removed object: %v, want ErrNotFound", err)
	}
}
