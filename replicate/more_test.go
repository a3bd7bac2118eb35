package replicate_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/miniotest"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/s3"
)

// TestSyncKeepsWhatTheSourceForgot: a snapshot forgotten and pruned on
// the source stays restorable on the target, which applies its own
// retention; a protected snapshot stays protected on the target.
func TestSyncKeepsWhatTheSourceForgot(t *testing.T) {
	if testing.Short() {
		t.Skip("two servers and qemu-img")
	}
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	dst := testserver.Start(t, testserver.Options{})
	v := newVM(t, 5, 8<<20, 4<<20)
	paths, vhdx := v.files(t)
	rc1 := backup(t, src, "HV01", "DC01", paths...)
	rc2 := backup(t, src, "HV02", "FS01", paths[1])
	if st, code, _ := call(t, src.URL, http.MethodPut, "/api/v1/snapshots/"+rc2.Snapshot+"/protected", src.AdminToken, true); st != http.StatusOK {
		t.Fatalf("protect: %d %s", st, code)
	}
	req := apiv1.SyncRequest{Source: src.URL, SourceToken: replicationToken(t, src), KeepProtected: true}
	if j := syncJob(t, dst, req); j.Sync.Snapshots != 2 {
		t.Fatalf("sync: %+v", j.Sync)
	}
	prot, err := dst.Repo.Protected()
	if err != nil || !prot[rc2.Snapshot] || prot[rc1.Snapshot] {
		t.Fatalf("protected on the target: %v (%v), want only %s", prot, err, rc2.Snapshot)
	}

	if st, code, _ := call(t, src.URL, http.MethodDelete, "/api/v1/snapshots/"+rc1.Snapshot, src.AdminToken, nil); st != http.StatusOK {
		t.Fatalf("forget on the source: %d %s", st, code)
	}
	st, code, data := call(t, src.URL, http.MethodPost, "/api/v1/prune", src.AdminToken, apiv1.PruneRequest{Grace: "1ns"})
	var pr apiv1.PruneResult
	if err := json.Unmarshal(data, &pr); st != http.StatusOK || err != nil || pr.BytesFreed == 0 {
		t.Fatalf("prune on the source: %d %s %s: want bytes freed", st, code, data)
	}
	if _, err := src.Repo.Snapshot(rc1.Snapshot); err == nil {
		t.Fatal("the source still lists the forgotten snapshot")
	}
	if j := syncJob(t, dst, req); j.Sync.Snapshots != 0 || j.Sync.SnapshotsSkipped != 1 {
		t.Fatalf("sync after the forget: %+v", j.Sync)
	}
	assertCopy(t, dst, rc1.Snapshot, v, vhdx)
	check(t, dst)

	// The target's own retention: a copy it forgets is not copied again
	// while the source still has it.
	if st, code, _ := call(t, dst.URL, http.MethodPut, "/api/v1/snapshots/"+rc2.Snapshot+"/protected", dst.AdminToken, false); st != http.StatusOK {
		t.Fatalf("unprotect on the target: %d %s", st, code)
	}
	if st, code, _ := call(t, dst.URL, http.MethodDelete, "/api/v1/snapshots/"+rc2.Snapshot, dst.AdminToken, nil); st != http.StatusOK {
		t.Fatalf("forget on the target: %d %s", st, code)
	}
	if j := syncJob(t, dst, req); j.Sync.Snapshots != 0 || j.Sync.ChunksSent != 0 {
		t.Fatalf("sync after the target forgot a copy: %+v, want nothing copied", j.Sync)
	}
	if _, err := dst.Repo.Snapshot(rc2.Snapshot); err == nil {
		t.Fatal("the copy the target forgot came back")
	}
}

// TestReplicationTokenRefused: a replication token reads what a sync
// needs and is refused (403 FORBIDDEN) everything else: writes, deletes,
// retention, tokens, restores and the file browser. Its requests are
// bounded.
func TestReplicationTokenRefused(t *testing.T) {
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	v := newVM(t, 9, 0, 2<<20)
	rc := backup(t, src, "HV01", "VM1", writeFile(t, v.dir+"/d.raw", v.data))
	tok := replicationToken(t, src)
	snap := "/api/v1/snapshots/" + rc.Snapshot
	refused := []struct{ method, path string }{
		{http.MethodPost, "/api/v1/sessions"},
		{http.MethodPut, "/api/v1/sessions/x/disks/d.raw"},
		{http.MethodPost, "/api/v1/sessions/x/complete"},
		{http.MethodGet, "/api/v1/snapshots"},
		{http.MethodGet, snap},
		{http.MethodDelete, snap},
		{http.MethodPut, snap + "/protected"},
		{http.MethodGet, snap + "/disks/d.raw?format=raw"},
		{http.MethodGet, snap + "/disks/d.raw?format=original"},
		{http.MethodPost, snap + "/disks/d.raw/links"},
		{http.MethodGet, snap + "/disks/d.raw/fs/"},
		{http.MethodGet, snap + "/disks/d.raw/fs/1/ls?path=/"},
		{http.MethodGet, snap + "/disks/d.raw/fs/1/cat?path=/x"},
		{http.MethodGet, snap + "/writer-metadata"},
		{http.MethodPost, "/api/v1/forget"},
		{http.MethodPost, "/api/v1/prune"},
		{http.MethodPost, "/api/v1/check"},
		{http.MethodPost, "/api/v1/repair/index"},
		{http.MethodPost, "/api/v1/tokens"},
		{http.MethodGet, "/api/v1/tokens"},
		{http.MethodPut, "/api/v1/policies/p"},
		{http.MethodPost, "/api/v1/sync"},
		{http.MethodGet, "/api/v1/jobs"},
		{http.MethodGet, "/api/v1/stats"},
	}
	for _, r := range refused {
		if st, code, _ := call(t, src.URL, r.method, r.path, tok, map[string]any{}); st != http.StatusForbidden || code != string(apiv1.CodeForbidden) {
			t.Errorf("%s %s with a replication token: %d %s, want 403 FORBIDDEN", r.method, r.path, st, code)
		}
	}
	if st, code, _ := call(t, src.URL, http.MethodPost, "/ui/login", "", map[string]string{"token": tok}); st != http.StatusForbidden {
		t.Errorf("dashboard login with a replication token: %d %s, want 403", st, code)
	}
	if _, err := src.Repo.Snapshot(rc.Snapshot); err != nil {
		t.Fatalf("the snapshot is gone: %v", err)
	}
	// What it may read.
	for _, p := range []string{"/api/v1/replication/info", "/api/v1/replication/snapshots", "/api/v1/replication" + strings.TrimPrefix(snap, "/api/v1")} {
		if st, code, _ := call(t, src.URL, http.MethodGet, p, tok, nil); st != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", p, st, code)
		}
	}
	// Bounded: too many IDs, a bad ID, a chunk that is not there, a disk
	// map no snapshot names.
	ids := make([]string, apiv1.MaxChunksPerRequest+1)
	for i := range ids {
		ids[i] = strings.Repeat("0", 64)
	}
	for _, c := range []struct {
		body any
		want int
	}{
		{apiv1.ChunksRequest{IDs: ids}, http.StatusBadRequest},
		{apiv1.ChunksRequest{}, http.StatusBadRequest},
		{apiv1.ChunksRequest{IDs: []string{"../x"}}, http.StatusBadRequest},
		{apiv1.ChunksRequest{IDs: ids[:1]}, http.StatusNotFound},
	} {
		if st, code, _ := call(t, src.URL, http.MethodPost, "/api/v1/replication/chunks", tok, c.body); st != c.want {
			t.Errorf("chunks %v: %d %s, want %d", c.body, st, code, c.want)
		}
	}
	if st, _, _ := call(t, src.URL, http.MethodGet, "/api/v1/replication/diskmaps/"+strings.Repeat("ab", 32), tok, nil); st != http.StatusNotFound {
		t.Errorf("a disk map no snapshot names: %d, want 404", st)
	}
	// A restore token may not read the replication routes.
	_, restoreTok, err := src.Tokens.Create(apiv1.RoleRestore, "")
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := call(t, src.URL, http.MethodGet, "/api/v1/replication/snapshots", restoreTok, nil); st != http.StatusForbidden {
		t.Errorf("replication routes with a restore token: %d, want 403", st)
	}
	if _, _, err := src.Tokens.Create(apiv1.RoleReplication, "HV01"); err == nil {
		t.Error("a replication token limited to a host was created")
	}
}

// TestSyncToMinIO: the target keeps its repository in a real MinIO
// bucket; both repositories are plain, so the target asks its own index
// for the source's chunk IDs (the identity map).
func TestSyncToMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("MinIO and qemu-img")
	}
	srv := miniotest.Start(t)
	be, err := s3.Open(context.Background(), s3.Config{Endpoint: srv.Endpoint, Bucket: "replica", Prefix: "offsite",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, CreateBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	src := testserver.Start(t, testserver.Options{})
	dst := testserver.Start(t, testserver.Options{Backend: be})
	v := newVM(t, 21, 8<<20, 6<<20)
	paths, vhdx := v.files(t)
	rc := backup(t, src, "HV01", "EX01", paths...)
	req := apiv1.SyncRequest{Source: src.URL, SourceToken: replicationToken(t, src)}
	j := syncJob(t, dst, req)
	if n := len(chunkSet(t, src, rc.Snapshot)); j.Sync.ChunksSent != int64(n) {
		t.Fatalf("sync: %+v, want %d chunks", j.Sync, n)
	}
	assertCopy(t, dst, rc.Snapshot, v, vhdx)
	check(t, dst)
	// Same IDs in both: the copy's disk maps are the source's.
	ms, _ := src.Repo.Snapshot(rc.Snapshot)
	md, _ := dst.Repo.Snapshot(rc.Snapshot)
	for i := range ms.Disks {
		if ms.Disks[i].DiskMap != md.Disks[i].DiskMap {
			t.Errorf("disk %s: disk map %s on the target, %s on the source", ms.Disks[i].Name, md.Disks[i].DiskMap, ms.Disks[i].DiskMap)
		}
	}
	// The target's index forgets, the bucket does not: after a restart on
	// a rebuilt index a sync skips the snapshot and sends nothing.
	dst.Restart(t, false)
	if j := syncJob(t, dst, req); j.Sync.ChunksSent != 0 || j.Sync.SnapshotsSkipped != 1 {
		t.Fatalf("sync after restart: %+v", j.Sync)
	}
}

// TestSyncDuringPrune: prunes (a grace of 1ns) run on the target again and again
// while a sync stores into it; the copy is whole and the target checks
// clean.
func TestSyncDuringPrune(t *testing.T) {
	if testing.Short() {
		t.Skip("two servers, a few seconds")
	}
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	dst := testserver.Start(t, testserver.Options{Encrypted: true, PackSize: 1 << 20})
	v := newVM(t, 51, 0, 12<<20)
	rc := backup(t, src, "HV01", "VM1", writeFile(t, v.dir+"/d.raw", v.data))
	st, code, data := call(t, dst.URL, http.MethodPost, "/api/v1/sync", dst.AdminToken,
		apiv1.SyncRequest{Source: src.URL, SourceToken: replicationToken(t, src), RateLimit: 2 << 20, Parallel: 2})
	if st != http.StatusAccepted {
		t.Fatalf("sync: %d %s %s", st, code, data)
	}
	var started apiv1.SyncStarted
	if err := json.Unmarshal(data, &started); err != nil {
		t.Fatal(err)
	}
	prunes := 0
	for jobRunning(t, dst, started.Job) {
		if st, code, data := call(t, dst.URL, http.MethodPost, "/api/v1/prune", dst.AdminToken, apiv1.PruneRequest{Grace: "1ns"}); st != http.StatusOK {
			t.Fatalf("prune: %d %s %s", st, code, data)
		}
		prunes++
		time.Sleep(50 * time.Millisecond)
	}
	j := waitJob(t, dst.URL, dst.AdminToken, started.Job)
	if j.Sync.Snapshots != 1 {
		t.Fatalf("sync: %+v", j.Sync)
	}
	// A prune takes longer on a busy machine: one that ran during the
	// sync is what the test needs.
	if prunes < 1 {
		t.Fatalf("no prune ran during the sync")
	}
	if got := restore(t, dst, rc.Snapshot, "d.raw", "raw"); string(got) != string(v.data) {
		t.Fatal("the copy differs")
	}
	check(t, dst)
}

// jobRunning reports whether job id on s still runs.
func jobRunning(t *testing.T, s *testserver.Server, id string) bool {
	t.Helper()
	_, _, data := call(t, s.URL, http.MethodGet, "/api/v1/jobs/"+id, s.AdminToken, nil)
	var j apiv1.JobRecord
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	return j.Result == apiv1.JobRunning
}

// TestSyncToLockedMinIO: the target's bucket has Object Lock (governance,
// no slack): every pack and disk map a copy needs is locked at least its
// period past the copy's commit, as a backup's would be, although the
// packs were written (and locked) before it.
func TestSyncToLockedMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("MinIO")
	}
	srv := miniotest.Start(t)
	period := time.Hour
	be, err := s3.Open(context.Background(), s3.Config{Endpoint: srv.Endpoint, Bucket: "locked", Prefix: "offsite",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, CreateBucket: true,
		Lock: backend.LockPolicy{Mode: backend.LockGovernance, Period: period}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	dst := testserver.Start(t, testserver.Options{Encrypted: true, Backend: be, PackSize: 256 << 10})
	v := newVM(t, 61, 0, 0)
	v.data = make([]byte, 3<<20)
	_, _ = rand.Read(v.data)
	rc := backup(t, src, "HV01", "VM1", writeFile(t, v.dir+"/d.raw", v.data))
	// Slow enough that the first packs are written well before the commit.
	j := syncJob(t, dst, apiv1.SyncRequest{Source: src.URL, SourceToken: replicationToken(t, src), RateLimit: 2 << 20, Parallel: 1})
	t.Logf("sync: %+v", j.Sync)
	m, err := dst.Repo.Snapshot(rc.Snapshot)
	if err != nil || m.Replica == nil {
		t.Fatalf("copy: %v", err)
	}
	want := m.Replica.Copied.Add(period).Truncate(time.Second)
	n := 0
	err = be.List(context.Background(), backend.TypePack, func(fi backend.ObjectInfo) error {
		until, err := be.LockedUntil(context.Background(), fi.Handle)
		if err != nil {
			return err
		}
		if until.Before(want) {
			t.Errorf("pack %s locked until %s, want at least %s", fi.Handle.Name, until, want)
		}
		n++
		return nil
	})
	if err != nil || n < 2 {
		t.Fatalf("%d packs listed: %v", n, err)
	}
	assertCopyRaw(t, dst, rc.Snapshot, "d.raw", v.data)
}

func assertCopyRaw(t *testing.T, s *testserver.Server, id, disk string, want []byte) {
	t.Helper()
	if got := restore(t, s, id, disk, "raw"); string(got) != string(want) {
		t.Fatalf("snapshot %s disk %s restores differently", id, disk)
	}
}
