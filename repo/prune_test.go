package repo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/restore"
	"io"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

// clock is an injectable clock safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// pruneEnv is a server on a fault-injecting in-memory backend with a clock.
type pruneEnv struct {
	*testserver.Server
	fb    *faulty.Backend
	clock *clock
}

func newPruneEnv(t *testing.T) *pruneEnv {
	fb := faulty.New(mem.New())
	c := newClock()
	s := testserver.Start(t, testserver.Options{Backend: fb, Now: c.now, PackSize: 1 << 20})
	return &pruneEnv{Server: s, fb: fb, clock: c}
}

func randomBytes(seed uint64, n int) []byte {
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 7})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// store backs up one raw disk directly through the repository API.
func (e *pruneEnv) store(t *testing.T, vm string, data []byte) string {
	t.Helper()
	c := e.Client("")
	id, err := c.OpenSession(context.Background(), sessionReq(vm))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutDisk(context.Background(), id, "disk.raw", bytes.NewReader(data), int64(len(data)), "raw"); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rc.Snapshot
}

func (e *pruneEnv) restoreRaw(t *testing.T, snap string) []byte {
	t.Helper()
	m, err := e.Repo.Snapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	d, err := restore.Open(context.Background(), e.Repo, m, "disk.raw", restore.Raw)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		t.Fatalf("restore %s: %v", snap, err)
	}
	return buf.Bytes()
}

func (e *pruneEnv) mustCheck(t *testing.T) {
	t.Helper()
	res, err := e.Repo.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("check: %+v", res)
	}
}

func (e *pruneEnv) prune(t *testing.T) repo.PruneResult {
	t.Helper()
	e.clock.advance(2 * time.Hour) // past the grace window
	res, err := e.Repo.Prune(context.Background(), repo.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPruneFreesForgottenData(t *testing.T) {
	e := newPruneEnv(t)
	shared := randomBytes(1, 3<<20)
	a := append(append([]byte(nil), shared...), randomBytes(2, 4<<20)...)
	b := append(append([]byte(nil), shared...), randomBytes(3, 2<<20)...)
	snapA := e.store(t, "VMA", a)
	snapB := e.store(t, "VMB", b)
	_, _, before, _ := e.Index.Counts()
	if err := e.Repo.ForgetSnapshot(context.Background(), snapA); err != nil {
		t.Fatal(err)
	}
	res := e.prune(t)
	_, _, after, _ := e.Index.Counts()
	t.Logf("prune: %+v; pack bytes %d -> %d", res, before, after)
	if res.BytesFreed < 3<<20 || before-after != res.BytesFreed {
		t.Fatalf("freed %d bytes (index went %d -> %d); A's 4 MiB of unique data should go", res.BytesFreed, before, after)
	}
	if res.PacksDeleted+res.PacksRewritten == 0 {
		t.Fatal("nothing deleted or rewritten")
	}
	if !bytes.Equal(e.restoreRaw(t, snapB), b) {
		t.Fatal("kept snapshot restores differently after prune")
	}
	e.mustCheck(t)
	// A second prune, past the grace window, deletes A's disk map, seen
	// unreferenced by the first; nothing else is left to do.
	if res := e.prune(t); res.DiskMapsDeleted != 1 || res.PacksDeleted != 0 || res.PacksRewritten != 0 || res.OrphansDeleted != 0 {
		t.Fatalf("second prune: %+v, want A's disk map deleted and nothing else", res)
	}
	if !bytes.Equal(e.restoreRaw(t, snapB), b) {
		t.Fatal("kept snapshot restores differently after the second prune")
	}
	e.mustCheck(t)
	if res := e.prune(t); res.BytesFreed != 0 || res.DiskMapsDeleted != 0 || res.PacksDeleted != 0 || res.PacksRewritten != 0 {
		t.Fatalf("third prune did more: %+v", res)
	}
}

// TestPruneKeepsADiskMapStoredAgain: a disk map a prune found unreferenced
// (its snapshot forgotten) that a backup stores again (the same content)
// is not deleted under the new manifest.
func TestPruneKeepsADiskMapStoredAgain(t *testing.T) {
	e := newPruneEnv(t)
	a := randomBytes(7, 3<<20)
	snapA := e.store(t, "VMA", a)
	if err := e.Repo.ForgetSnapshot(context.Background(), snapA); err != nil {
		t.Fatal(err)
	}
	e.prune(t) // sees A's disk map unreferenced
	snapA2 := e.store(t, "VMA", a)
	for i := 0; i < 3; i++ {
		if res := e.prune(t); res.DiskMapsDeleted != 0 {
			t.Fatalf("prune %d deleted %d disk maps of a listed snapshot", i, res.DiskMapsDeleted)
		}
	}
	if !bytes.Equal(e.restoreRaw(t, snapA2), a) {
		t.Fatal("the snapshot stored again restores differently")
	}
	e.mustCheck(t)
}

func TestPruneRespectsGrace(t *testing.T) {
	e := newPruneEnv(t)
	snap := e.store(t, "VMA", randomBytes(4, 2<<20))
	if err := e.Repo.ForgetSnapshot(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	res, err := e.Repo.Prune(context.Background(), repo.PruneOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksDeleted != 0 || res.BytesFreed != 0 {
		t.Fatalf("prune removed packs inside the grace window: %+v", res)
	}
}

func TestProtectedSnapshotSurvivesPrune(t *testing.T) {
	e := newPruneEnv(t)
	data := randomBytes(5, 3<<20)
	snap := e.store(t, "VMA", data)
	if err := e.Repo.SetProtected(context.Background(), snap, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Repo.ForgetSnapshot(context.Background(), snap); !errors.Is(err, repo.ErrProtected) {
		t.Fatalf("forget of a protected snapshot: %v", err)
	}
	res, err := e.Repo.Forget(context.Background(), repo.ForgetRequest{Policy: &repo.Policy{KeepWithin: "1s", KeepLast: 0}})
	if err != nil || len(res.Remove) != 0 {
		t.Fatalf("forget removed %v (%v)", res.Remove, err)
	}
	e.clock.advance(time.Minute)
	e.store(t, "VMA", randomBytes(6, 1<<20)) // a newer one, so keep_last 1 would drop the protected one
	res, err = e.Repo.Forget(context.Background(), repo.ForgetRequest{Policy: &repo.Policy{KeepLast: 1}})
	if err != nil || len(res.Remove) != 0 {
		t.Fatalf("keep_last 1 removed %v (%v)", res.Remove, err)
	}
	e.prune(t)
	if !bytes.Equal(e.restoreRaw(t, snap), data) {
		t.Fatal("protected snapshot lost data")
	}
}

// TestPruneUnderConcurrentIngest: sessions keep deduplicating against the
// chunks of snapshots that are being forgotten and pruned at that moment;
// every snapshot they make restores byte-identical.
func TestPruneUnderConcurrentIngest(t *testing.T) {
	iterations := 12
	if testing.Short() {
		iterations = 6
	}
	for it := 0; it < iterations; it++ {
		t.Run(fmt.Sprint(it), func(t *testing.T) {
			e := newPruneEnv(t)
			base := randomBytes(uint64(100+it), 3<<20)
			old := e.store(t, "VM", base)
			e.clock.advance(2 * time.Hour)
			var wg sync.WaitGroup
			type result struct {
				snap string
				data []byte
			}
			results := make([]result, 4)
			for w := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// the old content plus a little new
					data := append(append([]byte(nil), base...), randomBytes(uint64(1000*it+w), 256<<10)...)
					results[w] = result{e.store(t, fmt.Sprintf("VM%d", w), data), data}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.Repo.ForgetSnapshot(context.Background(), old); err != nil {
					t.Error(err)
				}
				for i := 0; i < 3; i++ {
					if _, err := e.Repo.Prune(context.Background(), repo.PruneOptions{}); err != nil {
						t.Error(err)
					}
				}
			}()
			wg.Wait()
			e.prune(t)
			for _, r := range results {
				if !bytes.Equal(e.restoreRaw(t, r.snap), r.data) {
					t.Fatalf("snapshot %s made during a prune restores differently", r.snap)
				}
			}
			e.mustCheck(t)
		})
	}
}

// TestCrashDuringPrune fails the storage at each step of a prune. The
// repository, reopened on the same backend and index, checks clean and
// restores everything kept; the next prune finishes the job.
func TestCrashDuringPrune(t *testing.T) {
	for _, fault := range []struct {
		name string
		set  func(fb *faulty.Backend)
	}{
		{"repack put", func(fb *faulty.Backend) { fb.FailPutsFrom(1, backend.ErrTransient) }},
		{"first pack removal", func(fb *faulty.Backend) {
			fb.Inject(faulty.OpRemove, faulty.Fault{From: 1, Count: 1000, Err: backend.ErrTransient})
		}},
		{"second pack removal", func(fb *faulty.Backend) {
			fb.Inject(faulty.OpRemove, faulty.Fault{From: 2, Count: 1000, Err: backend.ErrTransient})
		}},
		{"pack read", func(fb *faulty.Backend) { fb.FailReadAt(1, 1000, backend.ErrTransient) }},
	} {
		t.Run(fault.name, func(t *testing.T) {
			e := newPruneEnv(t)
			keep := map[string][]byte{}
			var forget []string
			for i := 0; i < 6; i++ {
				data := append(randomBytes(7, 1<<20), randomBytes(uint64(200+i), 1536<<10)...)
				snap := e.store(t, fmt.Sprintf("VM%d", i), data)
				if i%2 == 0 {
					forget = append(forget, snap)
				} else {
					keep[snap] = data
				}
			}
			for _, s := range forget {
				if err := e.Repo.ForgetSnapshot(context.Background(), s); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.advance(2 * time.Hour)
			fault.set(e.fb)
			if _, err := e.Repo.Prune(context.Background(), repo.PruneOptions{RepackBelow: 0.9}); err == nil {
				t.Log("prune finished despite the fault (the faulty step was not reached)")
			}
			e.fb.Heal()
			e.mustCheck(t)
			for snap, data := range keep {
				if !bytes.Equal(e.restoreRaw(t, snap), data) {
					t.Fatalf("snapshot %s restores differently after an interrupted prune", snap)
				}
			}
			// The next prunes finish the job: orphans go after the grace window.
			e.prune(t)
			e.prune(t)
			e.mustCheck(t)
			for snap, data := range keep {
				if !bytes.Equal(e.restoreRaw(t, snap), data) {
					t.Fatalf("snapshot %s restores differently after the next prune", snap)
				}
			}
			indexed := map[string]bool{}
			e.Index.Packs(func(p indexPack) error { indexed[p.ID.String()] = true; return nil })
			var stray int
			e.Backend.List(context.Background(), backend.TypePack, func(fi backend.ObjectInfo) error {
				if !indexed[fi.Handle.Name] {
					stray++
				}
				return nil
			})
			if stray != 0 {
				t.Fatalf("%d packs left in the backend that the index does not know", stray)
			}
		})
	}
}

type indexPack = index.PackInfo

func sessionReq(vm string) apiv1.SessionRequest {
	return apiv1.SessionRequest{Host: "HV01", VM: vm, BackupType: "full", Consistency: "application"}
}

// forgetAndPrune forgets snap and prunes, past the grace window.
func (e *pruneEnv) forgetAndPrune(t *testing.T, snap string) {
	t.Helper()
	if err := e.Repo.ForgetSnapshot(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	e.prune(t)
}

// TestPruneKeepsFinishedDiskOfOpenSession: a disk uploaded (deduplicated
// against a snapshot) but not yet completed keeps its chunks through a
// prune that removes that snapshot.
func TestPruneKeepsFinishedDiskOfOpenSession(t *testing.T) {
	e := newPruneEnv(t)
	data := randomBytes(11, 4<<20)
	old := e.store(t, "VM", data)
	c := e.Client("")
	id, _ := c.OpenSession(context.Background(), sessionReq("VM"))
	if _, err := c.PutDisk(context.Background(), id, "disk.raw", bytes.NewReader(data), int64(len(data)), "raw"); err != nil {
		t.Fatal(err)
	}
	e.forgetAndPrune(t, old)
	rc, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.restoreRaw(t, rc.Snapshot), data) {
		t.Fatal("snapshot restores differently")
	}
}

// TestPruneKeepsUploadInProgress: a prune runs while a disk is half
// uploaded; the chunks it already deduplicated stay.
func TestPruneKeepsUploadInProgress(t *testing.T) {
	e := newPruneEnv(t)
	data := randomBytes(12, 6<<20)
	old := e.store(t, "VM", data)
	c := e.Client("")
	id, _ := c.OpenSession(context.Background(), sessionReq("VM"))
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := c.PutDisk(context.Background(), id, "disk.raw", pr, int64(len(data)), "raw")
		done <- err
	}()
	pw.Write(data[:4<<20])
	time.Sleep(300 * time.Millisecond) // let the first chunks be saved
	e.forgetAndPrune(t, old)
	pw.Write(data[4<<20:])
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rc, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.restoreRaw(t, rc.Snapshot), data) {
		t.Fatal("snapshot restores differently")
	}
}

// TestPruneTracksSavesDuringPrune: a backup starts and deduplicates while a
// prune is between reading the sessions and committing; the prune must
// keep what that backup now depends on.
func TestPruneTracksSavesDuringPrune(t *testing.T) {
	e := newPruneEnv(t)
	data := randomBytes(13, 4<<20)
	old := e.store(t, "VM", data)
	if err := e.Repo.ForgetSnapshot(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	e.store(t, "VM2", randomBytes(14, 1<<20)) // so the prune has a disk map to read
	e.clock.advance(2 * time.Hour)
	release := e.fb.Block(faulty.OpReadAt) // the prune stops at its first disk map read
	reads := e.fb.Calls(faulty.OpReadAt)
	pruned := make(chan error, 1)
	go func() {
		_, err := e.Repo.Prune(context.Background(), repo.PruneOptions{})
		pruned <- err
	}()
	for e.fb.Calls(faulty.OpReadAt) == reads {
		time.Sleep(5 * time.Millisecond)
	}
	c := e.Client("")
	id, _ := c.OpenSession(context.Background(), sessionReq("VM"))
	if _, err := c.PutDisk(context.Background(), id, "disk.raw", bytes.NewReader(data), int64(len(data)), "raw"); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-pruned; err != nil {
		t.Fatal(err)
	}
	rc, err := c.Complete(context.Background(), id)
	if err != nil {
		t.Fatalf("complete after the prune: %v", err)
	}
	if !bytes.Equal(e.restoreRaw(t, rc.Snapshot), data) {
		t.Fatal("snapshot restores differently")
	}
	e.mustCheck(t)
}

// TestScheduledMaintenance: the server runs prune and check on its own and
// shows their status.
func TestScheduledMaintenance(t *testing.T) {
	e := newPruneEnv(t)
	e.store(t, "VM", randomBytes(31, 1<<20))
	e.Repo.PutPolicy("all", repo.Policy{KeepLast: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Repo.Schedule(ctx, 30*time.Millisecond, 30*time.Millisecond, repo.PruneOptions{}, repo.CheckOptions{ReadDataPercent: 100})
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.Repo.Jobs().Status()
		if st[0].Runs > 0 && st[1].Runs > 0 && !st[0].Running && !st[1].Running {
			if st[0].Interval == "" || st[1].LastError != "" || st[0].LastError != "" || st[1].Seconds < 0 {
				t.Fatalf("job status %+v", st)
			}
			if res, ok := st[1].LastResult.(repo.CheckResult); !ok || !res.OK || res.PacksRead == 0 {
				t.Fatalf("scheduled check result %+v", st[1].LastResult)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs did not run: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
