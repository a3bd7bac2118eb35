package s3e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// The whole path into MinIO: the agent backs up raw disks and a dynamic
// VHDX over HTTP, the packs, disk maps and manifest land in the bucket, and
// every disk restores byte for byte; a second backup of the same disks
// stores nothing new.
func TestBackupRestoreS3(t *testing.T) {
	_, be := newS3(t, shared, shared.Endpoint)
	s := startServer(t, be, setup{Options: repo.Options{ParallelUploads: 4}})
	dir := t.TempDir()
	disks := map[string][]byte{
		"random.raw": random(1, 9<<20+513),
		"mixed.raw":  concat(text(2, 3<<20), make([]byte, 2<<20), random(3, 1<<20+7)),
		"tiny.raw":   []byte("x"),
	}
	paths := writeDisks(t, disks)
	raw := vhdtest.RandomRaw(t, dir, 24<<20, "rtzr")
	vhdx := vhdtest.Convert(t, raw, "vhdx", "subformat=dynamic")
	vhdxData, err := os.ReadFile(vhdx)
	if err != nil {
		t.Fatal(err)
	}
	rawData, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := backupFiles(context.Background(), s, "SQL01", append(paths, vhdx)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.Verify(*rc, s.key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	disks[filepath.Base(vhdx)] = vhdxData
	checkRestores(t, s, map[string]map[string][]byte{rc.Snapshot: disks})
	if got := restore(t, s, rc.Snapshot, filepath.Base(vhdx), "raw"); !bytes.Equal(got, rawData) {
		t.Fatalf("VHDX restored as raw: %d bytes differ from the %d of its content", len(got), len(rawData))
	}
	// The bucket alone holds the backup.
	if p, d, m := objects(t, be, backend.TypePack), objects(t, be, backend.TypeDiskMap), objects(t, be, backend.TypeSnapshot); p < 3 || d != 4 || m != 1 {
		t.Fatalf("bucket holds %d packs, %d disk maps, %d manifests; want >= 3, 4, 1", p, d, m)
	}
	again, err := backupFiles(context.Background(), s, "SQL01", append(paths, vhdx)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range again.Disks {
		if d.NewBytes != 0 {
			t.Errorf("second backup of %s stored %d new bytes", d.Name, d.NewBytes)
		}
	}
	checkRepo(t, s)
}

// stats is GET /api/v1/stats.
type stats struct {
	LogicalBytes int64   `json:"logical_bytes"`
	StreamBytes  int64   `json:"stream_bytes"`
	StoredBytes  int64   `json:"stored_bytes"`
	DedupRatio   float64 `json:"dedup_ratio"`
	Chunks       int     `json:"chunks"`
	Packs        int     `json:"packs"`
	Snapshots    int     `json:"snapshots"`
}

// catalogue is what the API says about the repository.
type catalogue struct {
	Stats     stats
	Snapshots []map[string]any
}

func readCatalogue(t *testing.T, s *server) catalogue {
	t.Helper()
	var c catalogue
	var list struct {
		Snapshots []map[string]any `json:"snapshots"`
	}
	adminJSON(t, s, http.MethodGet, "/api/v1/stats", "", &c.Stats)
	adminJSON(t, s, http.MethodGet, "/api/v1/snapshots", "", &list)
	c.Snapshots = list.Snapshots
	return c
}

// repair index rebuilds a deleted index from the backend alone: every
// snapshot lists and restores byte for byte, the stats are as before,
// completing an old session again returns its receipt, and a protected
// snapshot is still protected.
func TestRepairIndex(t *testing.T) {
	for _, kind := range []string{"minio", "local"} {
		t.Run(kind, func(t *testing.T) {
			var be backend.Backend
			if kind == "minio" {
				_, be = newS3(t, shared, shared.Endpoint)
			} else {
				be = newLocal(t)
			}
			s := startServer(t, be, setup{Options: repo.Options{ParallelUploads: 4}})
			common := random(10, 4<<20)
			want := map[string]map[string][]byte{}
			var rcs []*receipt.Receipt
			for i, vm := range []string{"VM1", "VM2", "VM1"} {
				disks := map[string][]byte{
					"os.raw":   concat(common, random(uint64(20+i), 3<<20+11)),
					"data.raw": concat(text(uint64(i), 2<<20), make([]byte, 1<<20), random(30, 1<<20)),
				}
				rc := backup(t, s, vm, disks)
				want[rc.Snapshot], rcs = disks, append(rcs, rc)
			}
			adminJSON(t, s, http.MethodPut, "/api/v1/snapshots/"+rcs[0].Snapshot+"/protected", "true", nil)
			before := readCatalogue(t, s)
			if before.Stats.Snapshots != 3 || before.Stats.Packs < 3 {
				t.Fatalf("before: %+v", before.Stats)
			}

			s.stop()
			if err := os.Remove(filepath.Join(s.dir, "index.db")); err != nil {
				t.Fatal(err)
			}
			s.start() // a fresh index, and a new admin token
			if empty := readCatalogue(t, s); empty.Stats.Snapshots != 0 || empty.Stats.Chunks != 0 {
				t.Fatalf("with a new index: %+v", empty.Stats)
			}
			var st repo.RebuildStats
			adminJSON(t, s, http.MethodPost, "/api/v1/repair/index", "", &st)
			if st.Snapshots != 3 || st.Packs != before.Stats.Packs || len(st.Skipped) != 0 {
				t.Fatalf("rebuild: %+v", st)
			}
			if after := readCatalogue(t, s); !reflect.DeepEqual(before, after) {
				t.Fatalf("after the rebuild:\n%+v\nbefore:\n%+v", after, before)
			}
			checkRestores(t, s, want)
			for _, rc := range rcs {
				got, err := s.client().Complete(context.Background(), rc.Session)
				if err != nil || !reflect.DeepEqual(got, *rc) {
					t.Fatalf("complete %s again after the rebuild: %v (same receipt: %v)", rc.Session, err, reflect.DeepEqual(got, *rc))
				}
			}
			checkRepo(t, s)
			err := s.client().Do(context.Background(), http.MethodDelete, "/api/v1/snapshots/"+rcs[0].Snapshot, nil, 0, nil)
			if st, code := apiCode(err); st != http.StatusConflict || code != "SNAPSHOT_PROTECTED" {
				t.Fatalf("delete of a protected snapshot after the rebuild: %v, want 409 SNAPSHOT_PROTECTED", err)
			}
		})
	}
}

// The maintenance calls are admin only, refuse a rebuild while a session is
// open, and validate the check's body.
func TestMaintenanceAPI(t *testing.T) {
	s := startServer(t, mem.New(), setup{})
	backup(t, s, "VM1", map[string][]byte{"d.raw": random(40, 3<<20)})
	ctx := context.Background()

	var tok struct {
		Token string `json:"token"`
	}
	adminJSON(t, s, http.MethodPost, "/api/v1/tokens", `{"role":"restore"}`, &tok)
	restorer := s.client()
	restorer.Token = tok.Token
	for _, path := range []string{"/api/v1/repair/index", "/api/v1/check"} {
		err := restorer.Do(ctx, http.MethodPost, path, nil, 0, nil)
		if st, code := apiCode(err); st != http.StatusForbidden || code != "FORBIDDEN" {
			t.Errorf("%s with a restore token: %v, want 403 FORBIDDEN", path, err)
		}
	}

	id, err := s.client().OpenSession(ctx, apiv1.SessionRequest{Host: "HV01", VM: "VM2", BackupType: "full", Consistency: "application"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.client().Do(ctx, http.MethodPost, "/api/v1/repair/index", nil, 0, nil)
	if st, code := apiCode(err); st != http.StatusConflict || code != "REPOSITORY_BUSY" {
		t.Fatalf("repair with a session open: %v, want 409 REPOSITORY_BUSY", err)
	}
	if err := s.client().Abort(ctx, id); err != nil {
		t.Fatal(err)
	}

	body := "{\"read_data_percent\":150}"
	err = s.client().Do(ctx, http.MethodPost, "/api/v1/check", bytes.NewReader([]byte(body)), int64(len(body)), nil)
	if st, code := apiCode(err); st != http.StatusBadRequest || code != "BAD_REQUEST" {
		t.Fatalf("check of 150%%: %v, want 400 BAD_REQUEST", err)
	}
	var res struct {
		OK              bool `json:"ok"`
		ReadDataPercent int  `json:"read_data_percent"`
		DataRead        bool `json:"data_read"`
		PacksRead       int  `json:"packs_read"`
		Snapshots       int  `json:"snapshots"`
	}
	adminJSON(t, s, http.MethodPost, "/api/v1/check", `{"read_data_percent":10}`, &res)
	if !res.OK || res.ReadDataPercent != 10 || !res.DataRead || res.PacksRead < 1 || res.Snapshots != 1 {
		t.Fatalf("check: %+v", res)
	}
	adminJSON(t, s, http.MethodPost, "/api/v1/check", "", &res) // no body
}
