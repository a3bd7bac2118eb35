package api_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
)

func TestRoundTripRawDisks(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	cases := map[string][]byte{
		"tiny.raw":      []byte("x"),
		"odd.raw":       mixed(1, 3<<20+4097),
		"mixed.raw":     mixed(2, 21<<20+513),
		"zeros.raw":     make([]byte, 9<<20),
		"random.raw":    random(5<<20 + 1),
		"compress.raw":  bytes.Repeat([]byte("compressible "), 600000),
		"zero-tail.raw": append(random(1<<20), make([]byte, 3<<20+5)...),
	}
	var paths []string
	for name, data := range cases {
		paths = append(paths, writeDisk(t, dir, name, data))
	}
	rc := backup(t, s, "HV01", "VM1", paths...)
	if len(rc.Disks) != len(cases) {
		t.Fatalf("receipt has %d disks, want %d", len(rc.Disks), len(cases))
	}
	if err := receipt.Verify(*rc, s.Key); err != nil {
		t.Fatal(err)
	}
	for name, data := range cases {
		for _, format := range []string{"raw", "original"} {
			if got := restore(t, s, rc.Snapshot, name, format); !bytes.Equal(got, data) {
				t.Errorf("%s as %s: restored %d bytes, differ from the %d backed up", name, format, len(got), len(data))
			}
		}
	}
	// Zeros are never stored: the all-zero disk adds nothing.
	for _, d := range rc.Disks {
		if d.Name == "zeros.raw" && d.NewBytes != 0 {
			t.Errorf("all-zero disk stored %d new bytes", d.NewBytes)
		}
	}
}

func TestRangeRestore(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	data := mixed(3, 6<<20+77)
	rc := backup(t, s, "HV01", "VM1", writeDisk(t, t.TempDir(), "d.raw", data))
	for _, r := range []struct {
		hdr      string
		from, to int
	}{
		{"bytes=0-0", 0, 1}, {"bytes=100-65636", 100, 65637}, {"bytes=6291000-", 6291000, len(data)},
		{"bytes=-1000", len(data) - 1000, len(data)}, {"bytes=1048570-3145740", 1048570, 3145741},
	} {
		got, status := rangeGet(t, s, rc.Snapshot, "d.raw", r.hdr)
		if status != 206 || !bytes.Equal(got, data[r.from:r.to]) {
			t.Errorf("%s: status %d, %d bytes, equal=%v", r.hdr, status, len(got), bytes.Equal(got, data[r.from:r.to]))
		}
	}
	if _, status := rangeGet(t, s, rc.Snapshot, "d.raw", fmt.Sprintf("bytes=%d-", len(data))); status != 416 {
		t.Errorf("range past the end: status %d, want 416", status)
	}
}

// TestConcurrentSessionsShareContent runs 8 sessions at once whose disks
// share most content, and checks receipts, restores, and that the shared
// content was stored once.
func TestConcurrentSessionsShareContent(t *testing.T) {
	shared := mixed(10, 12<<20)
	disks := make([][]byte, 8)
	dir := t.TempDir()
	paths := make([]string, 8)
	for i := range disks {
		disks[i] = append(append([]byte(nil), shared...), mixed(uint64(100+i), 1<<20)...)
		paths[i] = writeDisk(t, dir, fmt.Sprintf("vm%d.raw", i), disks[i])
	}
	// Reference: the same disks one at a time.
	seq := testserver.Start(t, testserver.Options{})
	for i := range paths {
		backup(t, seq, "HV01", fmt.Sprintf("VM%d", i), paths[i])
	}
	s := testserver.Start(t, testserver.Options{})
	receipts := make([]*receiptT, 8)
	var wg sync.WaitGroup
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i] = backup(t, s, "HV01", fmt.Sprintf("VM%d", i), paths[i])
		}()
	}
	wg.Wait()
	for i, rc := range receipts {
		if err := receipt.Verify(*rc, ed25519.PublicKey(s.Key)); err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if got := restore(t, s, rc.Snapshot, fmt.Sprintf("vm%d.raw", i), "raw"); !bytes.Equal(got, disks[i]) {
			t.Fatalf("disk %d restored differently", i)
		}
	}
	seqChunks, _, seqBytes, _ := seq.Index.Counts()
	conChunks, _, conBytes, _ := s.Index.Counts()
	if seqChunks != conChunks {
		t.Fatalf("concurrent ingest indexed %d chunks, sequential %d", conChunks, seqChunks)
	}
	// Pack trailers differ with packing order; the chunk bytes may not.
	if diff := conBytes - seqBytes; diff > int64(conChunks)*64 || diff < -int64(conChunks)*64 {
		t.Fatalf("concurrent ingest stored %d bytes, sequential %d", conBytes, seqBytes)
	}
	var newTotal int64
	for _, rc := range receipts {
		newTotal += rc.Disks[0].NewBytes
	}
	if max := int64(len(shared) + 8<<20 + 8<<20); newTotal > max {
		t.Fatalf("sessions reported %d new bytes in total; shared content was stored more than once", newTotal)
	}
}

type receiptT = receipt.Receipt

func rangeGet(t *testing.T, s *testserver.Server, snap, disk, hdr string) ([]byte, int) {
	t.Helper()
	req, _ := newRequest("GET", s.URL+"/api/v1/snapshots/"+snap+"/disks/"+disk+"?format=raw", s.AdminToken)
	req.Header.Set("Range", hdr)
	resp, err := httpDo(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return buf.Bytes(), resp.StatusCode
}
