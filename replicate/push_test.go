package replicate_test

import (
	"net/http"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// TestPushTwoServers: the source server pushes to a target server (both
// encrypted, different keys) with a push token of the target: the copy
// restores byte-identical, check --read-data is clean, a second push
// after a change sends only the new chunks. The push token may not read
// chunks, restore, browse or delete on the target.
func TestPushTwoServers(t *testing.T) {
	if testing.Short() {
		t.Skip("two servers and qemu-img")
	}
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	dst := testserver.Start(t, testserver.Options{Encrypted: true})
	v := newVM(t, 31, 12<<20, 6<<20)
	paths, vhdx := v.files(t)
	rc1 := backup(t, src, "HV01", "SQL01", paths...)
	_, pushTok, err := dst.Tokens.Create(apiv1.RolePush, "")
	if err != nil {
		t.Fatal(err)
	}
	req := apiv1.SyncRequest{Target: dst.URL, TargetToken: pushTok, KeepProtected: true}
	first := chunkSet(t, src, rc1.Snapshot)
	if j := syncJob(t, src, req); j.Sync.Snapshots != 1 || j.Sync.ChunksSent != int64(len(first)) {
		t.Fatalf("first push: %+v, want %d chunks sent", j.Sync, len(first))
	}
	assertCopy(t, dst, rc1.Snapshot, v, vhdx)
	check(t, dst)

	change(v.sys, 32, 4, 128<<10)
	paths, vhdx = v.files(t)
	rc2 := backup(t, src, "HV01", "SQL01", paths...)
	var fresh int64
	for id := range chunkSet(t, src, rc2.Snapshot) {
		if !first[id] {
			fresh++
		}
	}
	if j := syncJob(t, src, req); j.Sync.Snapshots != 1 || j.Sync.SnapshotsSkipped != 1 || j.Sync.ChunksSent != fresh {
		t.Fatalf("second push: %+v, want 1 copied and %d chunks sent", j.Sync, fresh)
	}
	assertCopy(t, dst, rc2.Snapshot, v, vhdx)
	check(t, dst)

	snap := "/api/v1/snapshots/" + rc1.Snapshot
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/replication/chunks"},
		{http.MethodGet, "/api/v1/replication/snapshots"},
		{http.MethodGet, snap + "/disks/data.raw?format=raw"},
		{http.MethodGet, snap + "/disks/data.raw/fs/"},
		{http.MethodDelete, snap},
		{http.MethodPost, "/api/v1/forget"},
		{http.MethodPost, "/api/v1/prune"},
		{http.MethodPost, "/api/v1/sessions"},
		{http.MethodPost, "/api/v1/tokens"},
		{http.MethodPost, "/api/v1/sync"},
	} {
		if st, code, _ := call(t, dst.URL, r.method, r.path, pushTok, map[string]any{}); st != http.StatusForbidden {
			t.Errorf("%s %s with a push token: %d %s, want 403", r.method, r.path, st, code)
		}
	}
	// Nor may it protect a snapshot that is not a copy from that source.
	own := backup(t, dst, "HV09", "X", paths[1])
	if st, _, _ := call(t, dst.URL, http.MethodPost, "/api/v1/replication/push/protect", pushTok,
		apiv1.PushSnapshot{Source: src.Repo.Config().ID, Snapshot: own.Snapshot}); st != http.StatusForbidden {
		t.Errorf("a push token protected the target's own snapshot: %d", st)
	}
}
