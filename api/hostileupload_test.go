package api_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// vmRSS returns the resident set size of the process from
// /proc/self/status, or 0 where there is none.
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestHostileBATUploads: 32 uploads at once of a VHDX with 2^21 FULL BAT
// entries (2 TiB of 1 MiB blocks, a 20 MiB head) whose bodies stall after
// the metadata and 64 KiB of the first block keep the live process heap
// under 1 GiB (it was 3.9 GiB with an extent per block); once they are cancelled the server still takes a backup.
func TestHostileBATUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 640 MiB of VHDX heads")
	}
	const uploads, budget = 32, 1 << 30
	s := testserver.Start(t, testserver.Options{})
	head := vhdtest.HugeBATVHDXHead(2<<40, 1<<20)
	id := openSession(t, s, "HV01", "VM1")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, baseRSS := ms.HeapInuse, vmRSS()

	open := make([]heldUpload, uploads)
	var wg sync.WaitGroup
	for i := range open {
		open[i] = holdUpload(s.URL+"/api/v1/sessions/"+id+"/disks/"+fmt.Sprintf("d%02d.vhdx", i), s.AdminToken)
		pw := open[i].pw
		wg.Add(1)
		go func(pw *io.PipeWriter) {
			defer wg.Done()
			// The head and 64 KiB of the first block, then the body stalls.
			if _, err := pw.Write(head); err == nil {
				pw.Write(make([]byte, 64<<10))
			}
		}(pw)
	}
	defer func() {
		for _, h := range open {
			h.pw.CloseWithError(errors.New("cancelled"))
		}
	}()
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, s, "shadowvault_uploads_in_flight") != fmt.Sprintf("shadowvault_uploads_in_flight %d", uploads) {
		if time.Now().After(deadline) {
			t.Fatalf("in flight: %q", metric(t, s, "shadowvault_uploads_in_flight"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// All are stalled (the server has read every byte sent); sample for a while.
	var peakHeap, peakRSS uint64
	for i := 0; i < 20; i++ {
		runtime.ReadMemStats(&ms)
		peakHeap, peakRSS = max(peakHeap, ms.HeapInuse), max(peakRSS, vmRSS())
		time.Sleep(50 * time.Millisecond)
	}
	// Two collections: the first moves pooled buffers (free segment and
	// chunk buffers) to the pools' victim caches, the second drops them.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	live := ms.HeapInuse
	t.Logf("%d stalled uploads of 2^21 BAT entries: heap in use peak %d MiB (%d MiB after GC; %d MiB before), VmRSS peak %d MiB (%d MiB before)",
		uploads, peakHeap>>20, live>>20, baseHeap>>20, peakRSS>>20, baseRSS>>20)
	// The peak holds garbage not yet collected (up to GOGC=100 over the
	// live heap); the budget holds for what the uploads keep.
	// What the uploads keep: the heap over the one before they started
	// (which holds what earlier tests of the package left).
	if kept, peakKept := live-min(live, baseHeap), peakHeap-min(peakHeap, baseHeap); kept > budget || peakKept > 2*budget {
		t.Errorf("heap in use %d MiB live, %d MiB peak with %d stalled uploads (%d MiB before), over the %d MiB budget (peak: twice)",
			live>>20, peakHeap>>20, uploads, baseHeap>>20, budget>>20)
	}

	for _, h := range open {
		h.pw.CloseWithError(errors.New("cancelled"))
	}
	for i, h := range open {
		select {
		case st := <-h.done:
			if st == http.StatusOK {
				t.Fatalf("upload %d of a cancelled body succeeded", i)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("upload %d did not end after its body was cancelled", i)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for metric(t, s, "shadowvault_uploads_in_flight") != "shadowvault_uploads_in_flight 0" {
		if time.Now().After(deadline) {
			t.Fatalf("in flight after cancelling: %q", metric(t, s, "shadowvault_uploads_in_flight"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	raw := random(3 << 20)
	rc := backup(t, s, "HV02", "VM2", writeDisk(t, t.TempDir(), "ok.raw", raw))
	if !bytes.Equal(restore(t, s, rc.Snapshot, "ok.raw", "raw"), raw) {
		t.Fatal("restore after the hostile uploads differs")
	}
}
