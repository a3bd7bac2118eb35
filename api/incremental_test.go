package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
	"github.com/zeebo/blake3"
)

// incrementalBackup backs up paths with --incremental; changes, if not
// nil, is written as the --changed-ranges file (one disk).
func incrementalBackup(t testing.TB, s *testserver.Server, host, vm string, changes []agent.Change, paths ...string) *apiv1.Receipt {
	t.Helper()
	o := agent.BackupOptions{Host: host, VM: vm, Type: "copy", Disks: paths, ReceiptKey: hex.EncodeToString(s.Key),
		Log: quiet, Incremental: true}
	if changes != nil {
		p := filepath.Join(t.TempDir(), "changes.json")
		b, _ := json.Marshal(changes)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		o.ChangedRanges = p
	}
	rc, err := agent.Backup(context.Background(), s.Client(""), o)
	if err != nil {
		t.Fatalf("incremental backup %s/%s: %v", host, vm, err)
	}
	return rc
}

// mutate overwrites share of data at random places in runs of 4-64 KiB,
// zeroing some, and returns the changed ranges.
func mutate(rng *mrand.Rand, data []byte, share float64) []agent.Change {
	var cs []agent.Change
	for left := int(share * float64(len(data))); left > 0; {
		n := min(left, (4+rng.IntN(60))<<10)
		off := rng.IntN(len(data) - n)
		if rng.IntN(4) == 0 {
			clear(data[off : off+n])
		} else {
			for i := off; i < off+n; i++ {
				data[i] = byte(rng.Uint32())
			}
		}
		cs = append(cs, agent.Change{Offset: int64(off), Length: int64(n)})
		left -= n
	}
	return cs
}

// TestIncrementalChain: a chain of daily incrementals, each changing 2% of
// a disk at random places, alternating between a changed-ranges file and
// block digests; after every step the newest snapshot restores the
// reference disk byte for byte and names its base in its receipt.
// Forgetting all but the last and pruning frees their unique data, and the
// last still restores and checks clean.
func TestIncrementalChain(t *testing.T) {
	var clock atomic64
	clock.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	s := testserver.Start(t, testserver.Options{Now: clock.now})
	steps, size := 30, 16<<20
	if testing.Short() {
		steps, size = 6, 8<<20
	}
	rng := mrand.New(mrand.NewPCG(30, 1))
	data := mixed(30, size)
	dir := t.TempDir()
	path := writeDisk(t, dir, "d0.raw", data)
	first := backup(t, s, "HV01", "SQL01", path)
	snaps := []string{first.Snapshot}
	for step := 1; step <= steps; step++ {
		clock.Add(int64(24 * time.Hour))
		cs := mutate(rng, data, 0.02)
		writeDisk(t, dir, "d0.raw", data)
		if step%2 == 0 {
			cs = nil // block digests
		}
		rc := incrementalBackup(t, s, "HV01", "SQL01", cs, path)
		d := rc.Disks[0]
		// A changed-ranges file names what changed; block digests name
		// every 64 KiB block a change touched.
		limit := int64(size) / 10
		if cs == nil {
			limit = int64(size) / 4
		}
		if d.Base != snaps[len(snaps)-1] || d.ChangedBytes == 0 || d.ChangedBytes > limit || d.DiskMap == "" {
			t.Fatalf("step %d: receipt disk %+v, base should be %s", step, d, snaps[len(snaps)-1])
		}
		if got := restore(t, s, rc.Snapshot, "d0.raw", "raw"); !bytes.Equal(got, data) {
			t.Fatalf("step %d: restore differs from the reference disk", step)
		}
		snaps = append(snaps, rc.Snapshot)
	}
	last := snaps[len(snaps)-1]
	_, _, before, err := s.Repo.Counts()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range snaps[:len(snaps)-1] {
		if err := s.Repo.ForgetSnapshot(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(int64(2 * time.Hour))
	res, err := s.Repo.Prune(context.Background(), repo.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, after, err := s.Repo.Counts()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prune after forgetting %d incrementals: %+v; pack bytes %d -> %d", len(snaps)-1, res, before, after)
	if res.BytesFreed == 0 || after >= before {
		t.Fatal("forgetting the chain freed nothing")
	}
	if got := restore(t, s, last, "d0.raw", "raw"); !bytes.Equal(got, data) {
		t.Fatal("the last incremental restores differently after its bases were forgotten and pruned")
	}
	mustCheck(t, s)
}

// TestIncrementalContainers: incrementals over VHD and VHDX bases (made by
// qemu-img), with a grown disk, a change that zeroes data, and the first
// and last sectors changed; raw, vhd and vhdx restores of the last give the
// reference content.
func TestIncrementalContainers(t *testing.T) {
	vhdtest.Need(t, "qemu-img")
	for _, format := range []string{"vhd", "vhdx"} {
		t.Run(format, func(t *testing.T) {
			s := testserver.Start(t, testserver.Options{})
			dir := t.TempDir()
			data := mixed(7, 12<<20)
			raw := writeDisk(t, dir, "disk.raw", data)
			img := vhdtest.Convert(t, raw, format)
			name := filepath.Base(img)
			base := backup(t, s, "HV02", "APP", img)
			rng := mrand.New(mrand.NewPCG(8, 1))
			mutate(rng, data, 0.03)
			clear(data[3<<20 : 3<<20+200<<10])                          // zeroed data
			copy(data[:512], bytes.Repeat([]byte{0xA5}, 512))           // first sector
			copy(data[len(data)-512:], bytes.Repeat([]byte{0x5A}, 512)) // last sector
			data = append(data, bytes.Repeat([]byte("grown "), (2<<20)/6)...)
			data = data[:len(data)&^511]
			writeDisk(t, dir, "disk.raw", data)
			os.Remove(img)
			img2 := vhdtest.Convert(t, raw, format)
			if img2 != img {
				t.Fatalf("converted to %s, not %s", img2, img)
			}
			rc := incrementalBackup(t, s, "HV02", "APP", nil, img)
			if d := rc.Disks[0]; d.Base != base.Snapshot || d.ChangedBytes == 0 {
				t.Fatalf("receipt disk %+v, base should be %s", d, base.Snapshot)
			}
			// A VHD's virtual size is the raw size rounded up to its geometry.
			got := restore(t, s, rc.Snapshot, name, "raw")
			if len(got) < len(data) || !bytes.Equal(got[:len(data)], data) || !bytes.Equal(got[len(data):], make([]byte, len(got)-len(data))) {
				t.Fatalf("raw restore of the %s incremental differs (%d bytes, want %d)", format, len(got), len(data))
			}
			for _, f := range []string{"vhd", "vhdx"} {
				vhdtest.Compare(t, restoreTo(t, s, rc.Snapshot, name, f), raw)
			}
			mustCheck(t, s)
		})
	}
}

// TestIncrementalBaseOfAnotherHost: an agent may not build on another
// host's snapshot, and cannot tell it from one that does not exist.
func TestIncrementalBaseOfAnotherHost(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	other := backup(t, s, "HV01", "SQL01", writeDisk(t, dir, "d0.raw", mixed(3, 4<<20)))
	_, tok, err := s.Tokens.Create("agent", "HV02")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client(tok)
	var sess apiv1.Session
	if err := c.DoJSON(context.Background(), http.MethodPost, "/api/v1/sessions", apiv1.SessionRequest{Host: "HV02", VM: "SQL01", BackupType: "copy"}, &sess); err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, base := range []string{other.Snapshot, strings.Repeat("0", 32)} {
		_, err := c.PutIncremental(context.Background(), sess.ID, "d0.raw", base, "", strings.NewReader(""), 0, "b")
		var ae *agent.APIError
		if !errorsAs(err, &ae) || ae.Status != http.StatusNotFound {
			t.Fatalf("base %s of another host: %v, want 404", base, err)
		}
		answers[base] = fmt.Sprint(ae.Status, ae.Code)
	}
	if answers[other.Snapshot] != answers[strings.Repeat("0", 32)] {
		t.Fatalf("another host's snapshot answers %q, a missing one %q", answers[other.Snapshot], answers[strings.Repeat("0", 32)])
	}
	// The agent's own search never finds another host's base: it sends
	// the whole disk (once the session above is aborted: a VM has one
	// session in flight at most).
	if err := c.Abort(context.Background(), sess.ID); err != nil {
		t.Fatal(err)
	}
	p := writeDisk(t, dir, "d0.raw", mixed(4, 4<<20))
	rc, err := agent.Backup(context.Background(), c, agent.BackupOptions{Host: "HV02", VM: "SQL01", Type: "copy", Disks: []string{p},
		ReceiptKey: hex.EncodeToString(s.Key), Log: quiet, Incremental: true})
	if err != nil || rc.Disks[0].Base != "" {
		t.Fatalf("incremental without a base of its own: %v, %+v", err, rc)
	}
}

// TestIncrementalBadRanges: parts out of order leave no disk, and the
// session cannot complete with it.
func TestIncrementalBadRanges(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	base := backup(t, s, "HV01", "VM", writeDisk(t, dir, "d0.raw", mixed(5, 4<<20)))
	c := s.Client("")
	var sess apiv1.Session
	if err := c.DoJSON(context.Background(), http.MethodPost, "/api/v1/sessions", apiv1.SessionRequest{Host: "HV01", VM: "VM", BackupType: "copy"}, &sess); err != nil {
		t.Fatal(err)
	}
	size := 4 << 20
	part := func(a, b int) string {
		return fmt.Sprintf("--B\r\nContent-Range: bytes %d-%d/%d\r\n\r\n%s\r\n", a, b, size, strings.Repeat("x", b-a+1))
	}
	body := part(8192, 8703) + part(0, 511) + "--B--\r\n"
	_, err := c.PutIncremental(context.Background(), sess.ID, "d0.raw", base.Snapshot, "", strings.NewReader(body), int64(len(body)), "B")
	var ae *agent.APIError
	if !errorsAs(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != apiv1.CodeBadRanges {
		t.Fatalf("parts out of order: %v, want 400 BAD_RANGES", err)
	}
	_, err = c.Complete(context.Background(), sess.ID)
	if !errorsAs(err, &ae) || ae.Code != apiv1.CodeDiskFailed {
		t.Fatalf("complete after a refused incremental: %v, want DISK_FAILED", err)
	}
}

// atomic64 is a settable clock for the test server.
type atomic64 struct{ atomic.Int64 }

func (a *atomic64) now() time.Time { return time.Unix(0, a.Load()) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// mustCheck fails the test unless a full check of the repository is clean.
func mustCheck(t testing.TB, s *testserver.Server) {
	t.Helper()
	res, err := s.Repo.CheckData(context.Background(), repo.CheckOptions{ReadDataPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("check: %+v", res)
	}
}

// TestRCTIDKept: the change tracking id sent with a disk is kept with the
// snapshot and listed for the next incremental; a malformed one is refused.
func TestRCTIDKept(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s.Client("")
	ctx := context.Background()
	var sess apiv1.Session
	if err := c.DoJSON(ctx, http.MethodPost, "/api/v1/sessions", apiv1.SessionRequest{Host: "HV01", VM: "VM", BackupType: "copy"}, &sess); err != nil {
		t.Fatal(err)
	}
	data := mixed(9, 2<<20)
	var ae *agent.APIError
	if _, err := c.PutDiskWith(ctx, sess.ID, "d0.raw", bytes.NewReader(data), int64(len(data)), agent.PutOptions{RCTID: "bad id"}); !errorsAs(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("an rct_id with a space: %v, want 400", err)
	}
	const id = "rctX:5e1a0c3d:2f4b:4c9e:8d71:a3b2c1d0e9f8:00000001"
	if _, err := c.PutDiskWith(ctx, sess.ID, "d0.raw", bytes.NewReader(data), int64(len(data)), agent.PutOptions{RCTID: id}); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Complete(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	var list apiv1.SnapshotList
	if err := c.DoJSON(ctx, http.MethodGet, "/api/v1/snapshots?host=HV01", nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Snapshots) != 1 || list.Snapshots[0].ID != rc.Snapshot || list.Snapshots[0].Disks[0].RCTID != id {
		t.Fatalf("listing %+v, want the disk's rct_id %s", list.Snapshots, id)
	}
}

// TestRangeDigests: digests of small blocks of a range, computed from the
// snapshot's content; malformed requests are refused.
func TestRangeDigests(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	data := mixed(11, 3<<20+4096)
	rc := backup(t, s, "HV01", "VM", writeDisk(t, t.TempDir(), "d0.raw", data))
	c := s.Client("")
	ctx := context.Background()
	got, err := c.RangeDigests(ctx, rc.Snapshot, "d0.raw", 65536, 30, 10)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for b := 30; b < 40; b++ {
		s := blake3.Sum256(data[b*65536 : (b+1)*65536])
		want = append(want, s[:]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("range digests differ from the blocks' BLAKE3")
	}
	// The last block is short; a count past the end stops there.
	tail, err := c.RangeDigests(ctx, rc.Snapshot, "d0.raw", 65536, 47, 100)
	if err != nil || len(tail) != 2*32 {
		t.Fatalf("digests to the end: %d bytes, %v", len(tail), err)
	}
	for _, q := range []string{"block=1000&from=0&count=1", "block=65536&from=-1&count=1", "block=65536&from=0&count=0",
		"block=65536&from=0&count=100000", "block=1048576&from=0&count=300", "block=65536&from=1000&count=1", "block=2097152&from=0&count=1", "block=65536"} {
		_, err := c.Get(ctx, "/api/v1/snapshots/"+rc.Snapshot+"/disks/d0.raw/digests?"+q)
		var ae *agent.APIError
		if !errorsAs(err, &ae) || ae.Status != http.StatusBadRequest {
			t.Errorf("%s: %v, want 400", q, err)
		}
	}
}

// TestRestoreHead: HEAD of a restore answers its size and that ranges are
// served, without a body, in every format.
func TestRestoreHead(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	data := mixed(12, 3<<20)
	rc := backup(t, s, "HV01", "VM", writeDisk(t, t.TempDir(), "d0.raw", data))
	for _, f := range []string{"raw", "original", "vhd", "vhdx"} {
		req, _ := http.NewRequest(http.MethodHead, s.URL+"/api/v1/snapshots/"+rc.Snapshot+"/disks/d0.raw?format="+f, nil)
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		full := restore(t, s, rc.Snapshot, "d0.raw", f)
		if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(full)) {
			t.Fatalf("HEAD %s: %d, length %d, want 200 and %d", f, resp.StatusCode, resp.ContentLength, len(full))
		}
		if ranges := resp.Header.Get("Accept-Ranges"); ranges != "bytes" {
			t.Fatalf("HEAD %s: Accept-Ranges %q", f, ranges)
		}
	}
}

// TestIncrementalGrownDisk: a disk that only grew (nothing written, and
// then data written past the old end) goes up incrementally.
func TestIncrementalGrownDisk(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	data := mixed(13, 4<<20)
	p := writeDisk(t, dir, "d0.raw", data)
	backup(t, s, "HV01", "VM", p)
	data = append(data, make([]byte, 4<<20)...)
	writeDisk(t, dir, "d0.raw", data)
	for step, changes := range [][]agent.Change{nil, {}} {
		rc := incrementalBackup(t, s, "HV01", "VM", changes, p)
		if got := restore(t, s, rc.Snapshot, "d0.raw", "raw"); !bytes.Equal(got, data) || rc.Disks[0].Base == "" {
			t.Fatalf("step %d: the grown disk restores differently (%d bytes, base %q)", step, len(got), rc.Disks[0].Base)
		}
	}
	copy(data[6<<20:], bytes.Repeat([]byte{5}, 100<<10)) // then data in the new space
	writeDisk(t, dir, "d0.raw", data)
	rc := incrementalBackup(t, s, "HV01", "VM", nil, p)
	if got := restore(t, s, rc.Snapshot, "d0.raw", "raw"); !bytes.Equal(got, data) {
		t.Fatal("data written in the grown space restores differently")
	}
	// No Content-Type and a body that is not multipart: refused.
	c := s.Client("")
	var sess apiv1.Session
	if err := c.DoJSON(context.Background(), http.MethodPost, "/api/v1/sessions", apiv1.SessionRequest{Host: "HV01", VM: "VM", BackupType: "copy"}, &sess); err != nil {
		t.Fatal(err)
	}
	err := c.Do(context.Background(), http.MethodPut, "/api/v1/sessions/"+sess.ID+"/disks/d0.raw?base=latest", strings.NewReader("not multipart"), 13, nil)
	var ae *agent.APIError
	if !errorsAs(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("a body without Content-Type: %v, want 400", err)
	}
}
