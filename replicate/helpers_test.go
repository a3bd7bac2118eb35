package replicate_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// mixed returns disk content of random, compressible and zero regions.
func mixed(seed uint64, size int) []byte {
	r := mrand.New(mrand.NewPCG(seed, 7))
	d := make([]byte, size)
	for off := 0; off < size; {
		n := min(size-off, 1+r.IntN(2<<20))
		switch r.IntN(3) {
		case 0:
			for i := off; i < off+n; i += 8 {
				v := r.Uint64()
				for k := 0; k < 8 && i+k < off+n; k++ {
					d[i+k] = byte(v >> (8 * k))
				}
			}
		case 1:
			for i := off; i < off+n; i++ {
				d[i] = "Windows System32 drivers "[i%25]
			}
		}
		off += n
	}
	return d
}

// change overwrites n random bytes at each of k places of d.
func change(d []byte, seed uint64, k, n int) {
	r := mrand.New(mrand.NewPCG(seed, 11))
	for range k {
		off := r.IntN(len(d) - n)
		for i := off; i < off+n; i++ {
			d[i] = byte(r.Uint32())
		}
	}
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func backup(t testing.TB, s *testserver.Server, host, vm string, paths ...string) *receipt.Receipt {
	t.Helper()
	rc, err := agent.Backup(context.Background(), s.Client(""), agent.BackupOptions{
		Host: host, VM: vm, Type: "full", Consistency: "application", Disks: paths,
		ReceiptKey: hex.EncodeToString(s.Key), Log: quiet,
	})
	if err != nil {
		t.Fatalf("backup %s/%s: %v", host, vm, err)
	}
	return rc
}

func restore(t testing.TB, s *testserver.Server, snap, disk, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Client("").Restore(context.Background(), snap, disk, format, &buf, nil); err != nil {
		t.Fatalf("restore %s/%s (%s): %v", snap, disk, format, err)
	}
	return buf.Bytes()
}

// call sends a request with token and returns the status and the error
// code of the answer, if any.
func call(t testing.TB, base, method, path, token string, body any) (int, string, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb apiv1.ErrorBody
	_ = json.Unmarshal(data, &eb)
	return resp.StatusCode, string(eb.Error.Code), data
}

// replicationToken creates a replication token on s.
func replicationToken(t testing.TB, s *testserver.Server) string {
	t.Helper()
	_, tok, err := s.Tokens.Create(apiv1.RoleReplication, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// syncJob runs a sync on dst from src over the API and waits for its end.
func syncJob(t testing.TB, dst *testserver.Server, req apiv1.SyncRequest) apiv1.JobRecord {
	t.Helper()
	st, code, data := call(t, dst.URL, http.MethodPost, "/api/v1/sync", dst.AdminToken, req)
	if st != http.StatusAccepted {
		t.Fatalf("POST /api/v1/sync: %d %s %s", st, code, data)
	}
	var started apiv1.SyncStarted
	if err := json.Unmarshal(data, &started); err != nil {
		t.Fatal(err)
	}
	return waitJob(t, dst.URL, dst.AdminToken, started.Job)
}

func waitJob(t testing.TB, base, token, id string) apiv1.JobRecord {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st, _, data := call(t, base, http.MethodGet, "/api/v1/jobs/"+id, token, nil)
		if st != http.StatusOK {
			t.Fatalf("GET job %s: %d %s", id, st, data)
		}
		var j apiv1.JobDetail
		if err := json.Unmarshal(data, &j); err != nil {
			t.Fatal(err)
		}
		if j.Result != apiv1.JobRunning {
			if j.Result != apiv1.JobSuccess {
				var log []string
				for _, l := range j.Log {
					log = append(log, l.Msg)
				}
				t.Fatalf("sync job %s: %s: %s\n%s", id, j.Result, j.Error, strings.Join(log, "\n"))
			}
			return j.JobRecord
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sync job %s did not end", id)
	return apiv1.JobRecord{}
}

// check runs a check reading all data on s and fails the test on damage.
func check(t testing.TB, s *testserver.Server) {
	t.Helper()
	st, _, data := call(t, s.URL, http.MethodPost, "/api/v1/check", s.AdminToken, apiv1.CheckRequest{ReadDataPercent: 100})
	var res apiv1.CheckResult
	if err := json.Unmarshal(data, &res); err != nil || st != http.StatusOK {
		t.Fatalf("check: %d %s", st, data)
	}
	if !res.OK {
		t.Fatalf("check found damage: %s", data)
	}
}

// chunkSet returns the chunks the disks of snapshot id reference on s.
func chunkSet(t testing.TB, s *testserver.Server, id string) map[chunk.ID]bool {
	t.Helper()
	m, err := s.Repo.Snapshot(id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[chunk.ID]bool{}
	for _, d := range m.Disks {
		dm, err := s.Repo.LoadDiskMap(context.Background(), d.DiskMap)
		if err != nil {
			t.Fatal(err)
		}
		dm.Chunks(func(id chunk.ID) { out[id] = true })
	}
	return out
}

// vm is a VM's two disks on the agent's side: sys.vhdx (from sys, a
// raw image converted by qemu-img) and data.raw.
type vm struct {
	dir       string
	sys, data []byte
}

func newVM(t testing.TB, seed uint64, sysSize, dataSize int) *vm {
	return &vm{dir: t.TempDir(), sys: mixed(seed, sysSize), data: mixed(seed+1, dataSize)}
}

// files writes the disks and returns their paths, and the VHDX's bytes.
func (v *vm) files(t testing.TB) (paths []string, vhdx []byte) {
	t.Helper()
	raw := writeFile(t, filepath.Join(v.dir, "sys.raw"), v.sys)
	p := vhdtest.Convert(t, raw, "vhdx")
	vhdx, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return []string{p, writeFile(t, filepath.Join(v.dir, "data.raw"), v.data)}, vhdx
}
