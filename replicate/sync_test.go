package replicate_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
)

// TestSyncTwoServers: a target server pulls from a source server (both
// encrypted, with different keys) over the replication routes. The copy
// restores byte-identical in the original format and raw, its stream
// BLAKE3 checks, check --read-data is clean; a second sync after a small
// change reads exactly the new chunks; a third reads nothing.
func TestSyncTwoServers(t *testing.T) {
	if testing.Short() {
		t.Skip("two servers and qemu-img")
	}
	src := testserver.Start(t, testserver.Options{Encrypted: true})
	dst := testserver.Start(t, testserver.Options{Encrypted: true})
	v := newVM(t, 1, 24<<20, 12<<20)
	paths, vhdx := v.files(t)
	rc1 := backup(t, src, "HV01", "SQL01", paths...)
	tok := replicationToken(t, src)
	req := apiv1.SyncRequest{Source: src.URL, SourceToken: tok, Parallel: 3, KeepProtected: true, Verify: true}

	j := syncJob(t, dst, req)
	first := chunkSet(t, src, rc1.Snapshot)
	if j.Sync == nil || j.Sync.Snapshots != 1 || j.Sync.ChunksSent != int64(len(first)) || j.Sync.ChunksSkipped != 0 {
		t.Fatalf("first sync: %+v, want 1 snapshot and %d chunks sent", j.Sync, len(first))
	}
	if j.Sync.DisksVerified != 2 {
		t.Errorf("first sync verified %d disks, want 2", j.Sync.DisksVerified)
	}
	if j.Sync.Source != src.Repo.Config().ID {
		t.Errorf("sync source %q, want the source repository id %q", j.Sync.Source, src.Repo.Config().ID)
	}
	assertCopy(t, dst, rc1.Snapshot, v, vhdx)
	m, err := dst.Repo.Snapshot(rc1.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if m.Receipt.Signature != rc1.Signature || m.Replica == nil {
		t.Errorf("the copy's receipt is not the source's original, or no replica origin: %+v", m.Replica)
	}
	if err := receipt.Verify(m.Receipt, src.Key); err != nil {
		t.Errorf("the copy's receipt does not verify with the source's receipt key: %v", err)
	}
	check(t, dst)

	// About 3% of each disk changes.
	change(v.sys, 2, 6, 128<<10)
	change(v.data, 3, 3, 128<<10)
	paths, vhdx = v.files(t)
	rc2 := backup(t, src, "HV01", "SQL01", paths...)
	second := chunkSet(t, src, rc2.Snapshot)
	var fresh int64
	for id := range second {
		if !first[id] {
			fresh++
		}
	}
	j = syncJob(t, dst, req)
	if j.Sync.Snapshots != 1 || j.Sync.SnapshotsSkipped != 1 || j.Sync.ChunksSent != fresh ||
		j.Sync.ChunksSkipped != int64(len(second))-fresh {
		t.Fatalf("second sync: %+v, want 1 copied, 1 skipped, %d chunks sent, %d skipped", j.Sync, fresh, int64(len(second))-fresh)
	}
	if fresh == 0 || fresh > int64(len(second))/2 {
		t.Fatalf("the change made %d new chunks of %d: not a small change", fresh, len(second))
	}
	assertCopy(t, dst, rc2.Snapshot, v, vhdx)

	j = syncJob(t, dst, req)
	if j.Sync.Snapshots != 0 || j.Sync.SnapshotsSkipped != 2 || j.Sync.ChunksSent != 0 {
		t.Fatalf("third sync: %+v, want nothing copied", j.Sync)
	}
	check(t, dst)

	// Metrics: what was sent and skipped, and the last success, per source.
	_, _, body := call(t, dst.URL, http.MethodGet, "/metrics", dst.AdminToken, nil)
	id := src.Repo.Config().ID
	for _, want := range []string{
		fmt.Sprintf(`shadowvault_sync_chunks_sent_total{source="%s"} %d`, id, int64(len(first))+fresh),
		fmt.Sprintf(`shadowvault_sync_chunks_skipped_total{source="%s"} %d`, id, int64(len(second))-fresh),
		`shadowvault_sync_bytes_sent_total{source="` + id + `"}`,
		`shadowvault_sync_last_success_timestamp_seconds{source="` + id + `"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// assertCopy restores both disks of snapshot id on s, in the original
// format and raw, and compares them with what the agent sent.
func assertCopy(t *testing.T, s *testserver.Server, id string, v *vm, vhdx []byte) {
	t.Helper()
	m, err := s.Repo.Snapshot(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Disks {
		orig := restore(t, s, id, d.Name, "original")
		want := v.data
		if d.Name == "sys.vhdx" {
			want = vhdx
		}
		if !bytes.Equal(orig, want) {
			t.Fatalf("snapshot %s disk %s: the original restored differs from the file sent", id, d.Name)
		}
		if sum := blake3.Sum256(orig); chunk.ID(sum).String() != d.StreamBLAKE3 {
			t.Fatalf("disk %s: restored BLAKE3 %x, the manifest says %s", d.Name, sum, d.StreamBLAKE3)
		}
	}
	raw := restore(t, s, id, "sys.vhdx", "raw")
	if len(raw) < len(v.sys) || !bytes.Equal(raw[:len(v.sys)], v.sys) || bytes.ContainsFunc(raw[len(v.sys):], func(r rune) bool { return r != 0 }) {
		t.Fatalf("raw restore of sys.vhdx (%d bytes) differs from the virtual disk (%d bytes)", len(raw), len(v.sys))
	}
}
