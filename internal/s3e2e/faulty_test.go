package s3e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/faulty"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
)

// The failure paths of TestMinIOStoppedDuringUpload, on an in-memory
// backend with faults injected at an exact call: whichever Put fails, the
// session fails with a storage code, no receipt, no snapshot and no
// manifest; the next backup of the same disk succeeds and checks clean.
func TestFaultyPuts(t *testing.T) {
	transient := fmt.Errorf("injected: %w", backend.ErrTransient)
	for _, c := range []struct {
		name string
		size int // of the disk; packs are 4 MiB
		// fault is injected after the upload, before complete, when
		// atComplete is set (k = puts so far); else before the upload.
		atComplete bool
		fault      func(k int) faulty.Fault
	}{
		{"second pack put fails", 13 << 20, false, func(k int) faulty.Fault {
			return faulty.Fault{From: k + 2, Count: 1, Err: transient}
		}},
		{"every pack put fails", 13 << 20, false, func(k int) faulty.Fault {
			return faulty.Fault{From: k + 1, Err: transient}
		}},
		{"pack stored but put reports failure", 13 << 20, false, func(k int) faulty.Fault {
			return faulty.Fault{From: k + 1, Count: 1, Err: transient, After: true}
		}},
		// A disk smaller than a pack puts nothing until complete, which
		// puts the pack, then the disk map, then the manifest.
		{"last pack put at complete fails", 1 << 20, true, func(k int) faulty.Fault {
			return faulty.Fault{From: k + 1, Count: 1, Err: transient}
		}},
		{"disk map put fails", 1 << 20, true, func(k int) faulty.Fault {
			return faulty.Fault{From: k + 2, Count: 1, Err: transient}
		}},
		{"manifest put fails", 1 << 20, true, func(k int) faulty.Fault {
			return faulty.Fault{From: k + 3, Count: 1, Err: transient}
		}},
		{"manifest stored but put reports failure", 1 << 20, true, func(k int) faulty.Fault {
			return faulty.Fault{From: k + 3, Count: 1, Err: transient, After: true}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fb := faulty.New(mem.New())
			s := startServer(t, fb, setup{})
			first := backup(t, s, "VM1", map[string][]byte{"d.raw": random(70, 2<<20)})
			ctx := context.Background()
			data := random(71, c.size)
			cl := s.client()
			id, err := cl.OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "VM2", BackupType: "full", Consistency: "application"})
			if err != nil {
				t.Fatal(err)
			}
			if !c.atComplete {
				fb.Inject(faulty.OpPut, c.fault(fb.Calls(faulty.OpPut)))
			}
			_, putErr := cl.PutDisk(ctx, id, "d.raw", bytes.NewReader(data), int64(len(data)), "")
			if putErr != nil {
				t.Fatalf("upload: %v", putErr)
			}
			if c.atComplete {
				fb.Inject(faulty.OpPut, c.fault(fb.Calls(faulty.OpPut)))
			}
			rc, err := cl.Complete(ctx, id)
			if err == nil || !storageFailure(err) {
				t.Fatalf("complete: %v (receipt %+v), want 503 STORAGE_ERROR or SESSION_FAILED", err, rc)
			}
			if _, err := s.Repo.CompleteSession(ctx, id); !errors.Is(err, repo.ErrSessionFailed) {
				t.Fatalf("complete again: %v, want it to stay failed", err)
			}
			if err := cl.Abort(ctx, id); err != nil {
				t.Fatalf("abort of the failed session: %v", err)
			}
			if list, err := s.Repo.Snapshots(repo.Filter{}); err != nil || len(list) != 1 {
				t.Fatalf("%d snapshots after the failed backup (%v), want 1", len(list), err)
			}
			fb.Heal()
			// A failed complete leaves no manifest, also when the manifest
			// Put stored the object and still failed: complete removes it.
			if n := objects(t, fb, backend.TypeSnapshot); n != 1 {
				t.Fatalf("%d manifests stored, want 1", n)
			}
			again := backup(t, s, "VM2", map[string][]byte{"d.raw": data})
			checkRestores(t, s, map[string]map[string][]byte{
				first.Snapshot: {"d.raw": random(70, 2<<20)},
				again.Snapshot: {"d.raw": data},
			})
			checkRepo(t, s)
		})
	}
}

// Short and failing reads during a restore end the restore with an error,
// never with wrong bytes; once healed the same restore is exact.
func TestFaultyReads(t *testing.T) {
	fb := faulty.New(mem.New())
	s := startServer(t, fb, setup{})
	data := random(80, 9<<20)
	rc := backup(t, s, "VM1", map[string][]byte{"d.raw": data})
	for _, c := range []struct {
		name  string
		fault func(k int) faulty.Fault
	}{
		{"short reads", func(k int) faulty.Fault { return faulty.Fault{From: k + 5, Count: 1, Short: true} }},
		{"failing reads", func(k int) faulty.Fault {
			return faulty.Fault{From: k + 5, Err: fmt.Errorf("injected: %w", backend.ErrTransient)}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fb.Inject(faulty.OpReadAt, c.fault(fb.Calls(faulty.OpReadAt)))
			var buf bytes.Buffer
			_, err := s.client().Restore(context.Background(), rc.Snapshot, "d.raw", "original", &buf, nil)
			if err == nil {
				t.Fatalf("restore with %s succeeded (%d bytes, equal: %v)", c.name, buf.Len(), bytes.Equal(buf.Bytes(), data))
			}
			fb.Heal()
			if got := restore(t, s, rc.Snapshot, "d.raw", "original"); !bytes.Equal(got, data) {
				t.Fatal("restore after healing differs")
			}
		})
	}
}
