package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
)

// What an agent may learn (DESIGN.md section 5): the figures an agent
// token sees never depend on what other hosts stored.

// agentFor returns a client with a new agent token of host.
func agentFor(t *testing.T, s *testserver.Server, host string) *agent.Client {
	t.Helper()
	_, tok, err := s.Tokens.Create("agent", host)
	if err != nil {
		t.Fatal(err)
	}
	return s.Client(tok)
}

// put opens a session of c's host, uploads the disks in order and, when
// complete is set, completes it.
// oracleVMs numbers the VMs put backs up.
var oracleVMs atomic.Int64

func put(t *testing.T, c *agent.Client, host string, complete bool, disks ...[]byte) ([]apiv1.DiskSummary, *receipt.Receipt) {
	t.Helper()
	ctx := context.Background()
	// Each session backs up a VM of its own: sessions left open run
	// alongside later ones, and a VM has one session in flight at most.
	vm := fmt.Sprintf("VM%d", oracleVMs.Add(1))
	id, err := c.OpenSession(ctx, apiv1.SessionRequest{Host: host, VM: vm, BackupType: "full", Consistency: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	var sums []apiv1.DiskSummary
	for i, d := range disks {
		sum, err := c.PutDisk(ctx, id, string(rune('a'+i))+".raw", bytes.NewReader(d), int64(len(d)), "raw")
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
	}
	if !complete {
		return sums, nil
	}
	rc, err := c.Complete(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return sums, &rc
}

// compressibleDisk has no zero blocks: random bytes, then text.
func compressibleDisk(n int) []byte {
	d := random(n / 2)
	for i := len(d); i < n; i++ {
		d = append(d, "Windows System32 drivers "[i%25])
	}
	return d
}

func packCounts(t *testing.T, s *testserver.Server) (int, int64) {
	t.Helper()
	chunks, _, bytes, err := s.Index.Counts()
	if err != nil {
		t.Fatal(err)
	}
	return chunks, bytes
}

// An exact copy of a disk only HV02 stored is new to HV01, in the PUT
// summary, the receipt and the manifest HV01 sees; it is not stored again.
func TestOracleExactCopyOfOtherHost(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	data := compressibleDisk(6 << 20)
	hv01, hv02 := agentFor(t, s, "HV01"), agentFor(t, s, "HV02")

	theirs, _ := put(t, hv02, "HV02", true, data)
	if theirs[0].NewBytes != int64(len(data)) || theirs[0].StoredBytes <= 0 || theirs[0].StoredBytes >= int64(len(data)) {
		t.Fatalf("fixture: HV02 was told %+v", theirs[0])
	}
	// A session of HV02 in flight holding the same data must not count either.
	put(t, hv02, "HV02", false, data)
	chunks, packBytes := packCounts(t, s)

	mine, rc := put(t, hv01, "HV01", true, data)
	if mine[0].NewBytes != int64(len(data)) || mine[0].StoredBytes != theirs[0].StoredBytes {
		t.Fatalf("HV01's PUT summary: new %d stored %d; want %d and %d, as HV02 was told",
			mine[0].NewBytes, mine[0].StoredBytes, len(data), theirs[0].StoredBytes)
	}
	if d := rc.Disks[0]; d.NewBytes != mine[0].NewBytes || d.StoredBytes != mine[0].StoredBytes {
		t.Fatalf("receipt disk %+v differs from the PUT summary %+v", d, mine[0])
	}
	if c, b := packCounts(t, s); c != chunks || b != packBytes {
		t.Fatalf("the copy was stored again: chunks %d -> %d, pack bytes %d -> %d", chunks, c, packBytes, b)
	}
	// The manifest and the listing the agent sees say the same.
	var m struct {
		Disks []struct {
			NewBytes    int64 `json:"new_bytes"`
			StoredBytes int64 `json:"stored_bytes"`
		} `json:"disks"`
	}
	body, err := hv01.Get(context.Background(), "/api/v1/snapshots/"+rc.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(body).Decode(&m)
	body.Close()
	if err != nil || len(m.Disks) != 1 || m.Disks[0].NewBytes != int64(len(data)) || m.Disks[0].StoredBytes != theirs[0].StoredBytes {
		t.Fatalf("manifest seen by HV01: %+v (%v)", m, err)
	}
	// The admin still sees global dedup.
	resp, err := httpGet(s, "/api/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Chunks int `json:"chunks"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Chunks != chunks {
		t.Fatalf("stats: %+v (%v), want %d chunks", st, err, chunks)
	}
}

// A disk that matches another host's in its first MiB only is reported as
// a repository without that host's data would report it.
func TestOraclePrefixOfOtherHost(t *testing.T) {
	theirs := compressibleDisk(4 << 20)
	mine := append(append([]byte(nil), theirs[:1<<20]...), compressibleDisk(3<<20)...)

	fresh := testserver.Start(t, testserver.Options{})
	want, _ := put(t, agentFor(t, fresh, "HV01"), "HV01", true, mine)

	s := testserver.Start(t, testserver.Options{})
	put(t, agentFor(t, s, "HV02"), "HV02", true, theirs)
	got, rc := put(t, agentFor(t, s, "HV01"), "HV01", true, mine)
	if got[0].NewBytes != int64(len(mine)) || got[0].NewBytes != want[0].NewBytes || got[0].StoredBytes != want[0].StoredBytes {
		t.Fatalf("HV01 told new %d stored %d; a repository without HV02 says new %d stored %d",
			got[0].NewBytes, got[0].StoredBytes, want[0].NewBytes, want[0].StoredBytes)
	}
	if rc.Disks[0].NewBytes != want[0].NewBytes || rc.Disks[0].StoredBytes != want[0].StoredBytes {
		t.Fatalf("receipt %+v, want %+v", rc.Disks[0], want[0])
	}
}

// A host sees its own dedup: against its snapshots and against earlier
// disks of the same session; forgetting its snapshot makes the content new
// to it again.
func TestOracleOwnDedupAndForget(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	data := compressibleDisk(4 << 20)
	hv01 := agentFor(t, s, "HV01")

	first, rc := put(t, hv01, "HV01", true, data, data)
	if first[0].NewBytes != int64(len(data)) || first[1].NewBytes != 0 || first[1].StoredBytes != 0 {
		t.Fatalf("the same disk twice in one session: %+v", first)
	}
	again, _ := put(t, hv01, "HV01", false, data)
	if again[0].NewBytes != 0 || again[0].StoredBytes != 0 {
		t.Fatalf("HV01 uploading its own stored disk again: %+v", again[0])
	}
	// HV02 holds the data too: it stays stored after HV01's forget.
	put(t, agentFor(t, s, "HV02"), "HV02", true, data)
	if st, _ := call(t, s, "DELETE", "/api/v1/snapshots/"+rc.Snapshot, s.AdminToken, nil); st != 200 && st != 204 {
		t.Fatalf("forget: %d", st)
	}
	after, _ := put(t, hv01, "HV01", false, data)
	if after[0].NewBytes != int64(len(data)) || after[0].StoredBytes != first[0].StoredBytes {
		t.Fatalf("after its snapshot was forgotten, HV01 was told %+v; want new %d stored %d", after[0], len(data), first[0].StoredBytes)
	}
}
