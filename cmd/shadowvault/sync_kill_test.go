package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
)

// TestSyncKillResume: the target is the real binary, pulling from a
// source server with the sync verb at a limited rate. It is killed with
// SIGKILL twice mid-sync, each time once it has stored more; after each
// kill the repository check is clean and lists no snapshot that is not
// whole, and the sync resumed sends exactly the chunks the target did not
// store before the kill. The finished copy restores byte-identical.
func TestSyncKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary mid-sync")
	}
	dir := t.TempDir()
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	disk := filepath.Join(dir, "big.raw")
	data := randomFile(t, disk, 56<<20)
	rc, err := agent.Backup(context.Background(), src.Client(""), agent.BackupOptions{
		Host: "HV01", VM: "SQL01", Type: "full", Consistency: "application", Disks: []string{disk},
		ReceiptKey: hex.EncodeToString(src.Key), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	total, _, _, err := src.Repo.Counts()
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := src.Tokens.Create(apiv1.RoleReplication, "")
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "source.token")
	if err := os.WriteFile(tokFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syncArgs := []string{"sync", "--from", src.URL, "--from-token-file", tokFile, "--limit-rate", "24M", "--json"}

	target := startServer(t, dir)
	stored := 0 // chunks the target held before the last kill
	for kill := 1; kill <= 2; kill++ {
		out, _, code := cli(t, target, "", append(syncArgs, "--detach")...)
		if code != 0 || !strings.Contains(out, `"job"`) {
			t.Fatalf("sync --detach: exit %d: %s", code, out)
		}
		// Kill once the target stored more than before.
		deadline := time.Now().Add(30 * time.Second)
		for targetChunks(t, target) <= stored {
			if time.Now().After(deadline) {
				t.Fatal("the target stored nothing new")
			}
			time.Sleep(20 * time.Millisecond)
		}
		target.kill()
		target = startServer(t, dir)
		var res apiv1.CheckResult
		if err := target.client().DoJSON(context.Background(), http.MethodPost, "/api/v1/check",
			apiv1.CheckRequest{ReadDataPercent: 100}, &res); err != nil || !res.OK {
			t.Fatalf("check after kill %d: %v %+v", kill, err, res)
		}
		stored = targetChunks(t, target)
		if stored >= total {
			t.Fatalf("kill %d came too late: the target has all %d chunks", kill, total)
		}
		if n := checkAllSnapshots(t, target, map[string][]byte{"big.raw": data}); n != 0 {
			t.Fatalf("after kill %d the target lists %d snapshots of a sync that did not finish", kill, n)
		}
		t.Logf("kill %d: the target holds %d of %d chunks", kill, stored, total)
	}
	out, _, code := cli(t, target, "", syncArgs...)
	if code != 0 {
		t.Fatalf("resumed sync: exit %d: %s", code, out)
	}
	var job apiv1.JobRecord
	if err := json.Unmarshal([]byte(out), &job); err != nil || job.Sync == nil {
		t.Fatalf("sync --json: %v: %s", err, out)
	}
	if job.Sync.ChunksSent != int64(total-stored) || job.Sync.ChunksSkipped != int64(stored) || job.Sync.Snapshots != 1 {
		t.Fatalf("resumed sync: %+v, want %d chunks sent and %d skipped (stored before the kill)", job.Sync, total-stored, stored)
	}
	var buf bytes.Buffer
	if _, err := target.client().Restore(context.Background(), rc.Snapshot, "big.raw", "original", &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("restore of the copy: %v (equal %v)", err, bytes.Equal(buf.Bytes(), data))
	}
	if out, _, code := cli(t, target, "", "check", "--read-data", "all"); code != 0 {
		t.Fatalf("check --read-data all on the target: exit %d: %s", code, out)
	}
}

// targetChunks returns the chunks the server indexes.
func targetChunks(t *testing.T, s *server) int {
	t.Helper()
	var st apiv1.Stats
	if err := s.client().DoJSON(context.Background(), http.MethodGet, "/api/v1/stats", nil, &st); err != nil {
		t.Fatal(err)
	}
	return st.Chunks
}

// TestSyncSourceKilled: the source is the real binary and is killed with
// SIGKILL mid-sync; the target's job fails, and a sync from the source
// started again (at another address: the map is keyed by the source
// repository's id) sends only what the target lacks.
func TestSyncSourceKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary mid-sync")
	}
	dir := t.TempDir()
	source := startServer(t, dir)
	disk := filepath.Join(dir, "big.raw")
	data := randomFile(t, disk, 40<<20)
	if _, _, code := cli(t, source, "", "backup", "--host", "HV01", "--vm", "FS01", disk); code != 0 {
		t.Fatal("backup to the source failed")
	}
	out, _, code := cli(t, source, "", "token", "create", "--role", "replication", "--json")
	var created apiv1.TokenCreated
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("token create --role replication: exit %d: %s", code, out)
	}
	var st apiv1.Stats
	if err := source.client().DoJSON(context.Background(), http.MethodGet, "/api/v1/stats", nil, &st); err != nil {
		t.Fatal(err)
	}
	total := st.Chunks
	target := testserver.Start(t, testserver.Options{Encrypted: true})
	start := func(url string) string {
		var started apiv1.SyncStarted
		err := target.Client("").DoJSON(context.Background(), http.MethodPost, "/api/v1/sync",
			apiv1.SyncRequest{Source: url, SourceToken: created.Token, RateLimit: 16 << 20}, &started)
		if err != nil {
			t.Fatal(err)
		}
		return started.Job
	}
	job := start(source.url)
	deadline := time.Now().Add(30 * time.Second)
	for n, _, _, _ := target.Repo.Counts(); n == 0; n, _, _, _ = target.Repo.Counts() {
		if time.Now().After(deadline) {
			t.Fatal("the target stored nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	source.kill()
	var j apiv1.JobDetail
	for j.Result == "" || j.Result == apiv1.JobRunning {
		if time.Now().After(deadline) {
			t.Fatal("the sync job did not fail with its source gone")
		}
		if err := target.Client("").DoJSON(context.Background(), http.MethodGet, "/api/v1/jobs/"+job, nil, &j); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if j.Result != apiv1.JobFailed {
		t.Fatalf("sync with its source killed: %s", j.Result)
	}
	stored, _, _, _ := target.Repo.Counts()
	if snaps, _ := target.Repo.Snapshots(repoFilter()); len(snaps) != 0 {
		t.Fatalf("the failed sync left %d snapshots", len(snaps))
	}
	source = startServer(t, dir)
	job = start(source.url)
	for j.Result = apiv1.JobRunning; j.Result == apiv1.JobRunning; time.Sleep(20 * time.Millisecond) {
		if err := target.Client("").DoJSON(context.Background(), http.MethodGet, "/api/v1/jobs/"+job, nil, &j); err != nil {
			t.Fatal(err)
		}
	}
	if j.Result != apiv1.JobSuccess || j.Sync.ChunksSent != int64(total-stored) || j.Sync.ChunksSkipped != int64(stored) {
		t.Fatalf("resumed sync: %s %s %+v, want %d sent and %d skipped", j.Result, j.Error, j.Sync, total-stored, stored)
	}
	snaps, err := target.Repo.Snapshots(repoFilter())
	if err != nil || len(snaps) != 1 {
		t.Fatalf("%d snapshots on the target (%v)", len(snaps), err)
	}
	var buf bytes.Buffer
	if _, err := target.Client("").Restore(context.Background(), snaps[0].ID, "big.raw", "raw", &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("restore of the copy: %v", err)
	}
}

func repoFilter() repo.Filter { return repo.Filter{} }

// TestSyncPushKilled: the source binary pushes with `sync --to` to a
// target server with a push token, is killed with SIGKILL mid-push, and
// pushes again after its restart: the target lists no partial snapshot
// after the kill, and the second push sends only what the target lacks.
func TestSyncPushKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary mid-sync")
	}
	dir := t.TempDir()
	source := startServer(t, dir)
	disk := filepath.Join(dir, "big.raw")
	data := randomFile(t, disk, 40<<20)
	if _, _, code := cli(t, source, "", "backup", "--host", "HV01", "--vm", "FS01", disk); code != 0 {
		t.Fatal("backup to the source failed")
	}
	var st apiv1.Stats
	if err := source.client().DoJSON(context.Background(), http.MethodGet, "/api/v1/stats", nil, &st); err != nil {
		t.Fatal(err)
	}
	target := testserver.Start(t, testserver.Options{Encrypted: true})
	_, tok, err := target.Tokens.Create(apiv1.RolePush, "")
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "target.token")
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"sync", "--to", target.URL, "--to-token-file", tokFile, "--limit-rate", "16M", "--json"}
	if _, _, code := cli(t, source, "", append(args, "--detach")...); code != 0 {
		t.Fatal("sync --to --detach failed")
	}
	deadline := time.Now().Add(30 * time.Second)
	for n, _, _, _ := target.Repo.Counts(); n == 0; n, _, _, _ = target.Repo.Counts() {
		if time.Now().After(deadline) {
			t.Fatal("the target stored nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	source.kill()
	if snaps, _ := target.Repo.Snapshots(repoFilter()); len(snaps) != 0 {
		t.Fatalf("the killed push left %d snapshots", len(snaps))
	}
	source = startServer(t, dir)
	// The target finishes the requests that were in flight at the kill
	// (their packs upload in the background): count what it holds once
	// that settled.
	time.Sleep(300 * time.Millisecond)
	stored, _, _, _ := target.Repo.Counts()
	out, _, code := cli(t, source, "", args...)
	var job apiv1.JobRecord
	if code != 0 || json.Unmarshal([]byte(out), &job) != nil || job.Sync == nil {
		t.Fatalf("second push: exit %d: %s", code, out)
	}
	if job.Sync.Snapshots != 1 || job.Sync.ChunksSent != int64(st.Chunks-stored) || job.Sync.ChunksSkipped != int64(stored) {
		t.Fatalf("second push: %+v, want 1 snapshot and %d chunks sent (%d stored before the kill)", job.Sync, st.Chunks-stored, stored)
	}
	snaps, err := target.Repo.Snapshots(repoFilter())
	if err != nil || len(snaps) != 1 {
		t.Fatalf("%d snapshots on the target (%v)", len(snaps), err)
	}
	var buf bytes.Buffer
	if _, err := target.Client("").Restore(context.Background(), snaps[0].ID, "big.raw", "raw", &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("restore of the pushed copy: %v", err)
	}
}

// TestSyncOffline: `sync --from-repo A --repo B` with both servers
// stopped copies A's snapshots into B (each opened with the master key
// its server cached in the state directory; different keys), and B's
// server then restores them; a second run copies nothing.
func TestSyncOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("the real binary, two repositories")
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	a := startServer(t, dirA)
	disk := filepath.Join(dirA, "d.raw")
	data := randomFile(t, disk, 6<<20)
	if _, _, code := cli(t, a, "", "backup", "--host", "HV01", "--vm", "VM1", disk); code != 0 {
		t.Fatal("backup failed")
	}
	a.kill()
	b := startServer(t, dirB)
	b.kill()
	args := []string{"sync", "--from-repo", filepath.Join(dirA, "data"), "--repo", filepath.Join(dirB, "data"), "--json"}
	run := func() apiv1.SyncStats {
		out, err := exec.Command(binary, args...).Output()
		var st apiv1.SyncStats
		if err != nil || json.Unmarshal(out, &st) != nil {
			t.Fatalf("offline sync: %v: %s", err, out)
		}
		return st
	}
	if st := run(); st.Snapshots != 1 || st.ChunksSent == 0 {
		t.Fatalf("offline sync: %+v", st)
	}
	if st := run(); st.Snapshots != 0 || st.SnapshotsSkipped != 1 || st.ChunksSent != 0 {
		t.Fatalf("second offline sync: %+v", st)
	}
	b = startServer(t, dirB)
	if n := checkAllSnapshots(t, b, map[string][]byte{"d.raw": data}); n != 1 {
		t.Fatalf("%d snapshots on the target", n)
	}
}

// TestSyncSchedule: serve --sync-job FILE --sync-interval runs the pull by
// itself: the snapshot arrives, and the job history holds scheduled sync
// jobs, the later ones copying nothing.
func TestSyncSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("the real binary")
	}
	dir := t.TempDir()
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	disk := filepath.Join(dir, "d.raw")
	randomFile(t, disk, 2<<20)
	rc, err := agent.Backup(context.Background(), src.Client(""), agent.BackupOptions{
		Host: "HV01", VM: "VM1", Type: "full", Consistency: "application", Disks: []string{disk},
		ReceiptKey: hex.EncodeToString(src.Key), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := src.Tokens.Create(apiv1.RoleReplication, "")
	if err != nil {
		t.Fatal(err)
	}
	job, _ := json.Marshal(apiv1.SyncRequest{Source: src.URL, SourceToken: tok})
	jobFile := filepath.Join(dir, "sync.json")
	if err := os.WriteFile(jobFile, job, 0o600); err != nil {
		t.Fatal(err)
	}
	target := startServerArgs(t, dir, "--sync-job", jobFile, "--sync-interval", "200ms")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list apiv1.JobList
		if err := target.client().DoJSON(context.Background(), http.MethodGet, "/api/v1/jobs?kind=sync&result=success", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Jobs) >= 2 {
			last := list.Jobs[0] // newest first
			if last.Trigger != apiv1.TriggerSchedule || last.Sync == nil || last.Sync.ChunksSent != 0 || last.Sync.SnapshotsSkipped != 1 {
				t.Fatalf("the latest scheduled sync: %+v %+v", last, last.Sync)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d scheduled syncs succeeded", len(list.Jobs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var m apiv1.Snapshot
	if err := target.client().DoJSON(context.Background(), http.MethodGet, "/api/v1/snapshots/"+rc.Snapshot, nil, &m); err != nil || m.Replica == nil {
		t.Fatalf("the copy on the target: %v %+v", err, m.Replica)
	}
}
