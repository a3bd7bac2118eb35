package compat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// generateEnv set to 1 makes TestGenerate write testdata/v1 anew.
const generateEnv = "SHADOWVAULT_COMPAT_GENERATE"

// writerMetadata stands for the VSS writer metadata document of the first
// snapshot.
var writerMetadata = []byte("MSCF shadowvault compat writer metadata document\n")

// TestGenerate makes the committed repository with the current code, as
// doc.go says; without SHADOWVAULT_COMPAT_GENERATE=1 it is skipped.
func TestGenerate(t *testing.T) {
	if os.Getenv(generateEnv) != "1" {
		t.Skip("set " + generateEnv + "=1 to regenerate testdata/v1 (see doc.go)")
	}
	work := t.TempDir()
	repoDir, state := filepath.Join(work, "repo"), filepath.Join(work, "state")
	s := startServer(t, repoDir, state, "")
	tok, err := os.ReadFile(filepath.Join(state, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	s.Token = strings.TrimSpace(string(tok))
	e := &expectations{GeneratedFrom: gitHead(), Manifests: map[string]json.RawMessage{}, WriterMeta: map[string]string{}}
	var key struct {
		ReceiptKey string `json:"receipt_key"`
	}
	json.Unmarshal(s.mustJSON(t, "GET", "/api/v1/receipt-key", nil), &key)
	e.ReceiptKey = key.ReceiptKey

	// Snapshot 1 through the HTTP API: full, application-consistent, with
	// writers, a writer metadata document and a differencing child.
	disks := snapshotDisks(t, work)
	var names []string
	for _, d := range disks {
		names = append(names, d.Name)
	}
	var sess struct{ ID string }
	json.Unmarshal(s.mustJSON(t, "POST", "/api/v1/sessions", map[string]any{
		"host": "HV01", "vm": "VM1", "backup_type": "full", "consistency": "application", "disks": names,
		"writers": []map[string]string{{"name": "Microsoft Hyper-V VSS Writer", "id": "66841cd4-6ded-4f4b-8f17-fd23f8ddc3de"}},
	}), &sess)
	s.mustJSON(t, "PUT", "/api/v1/sessions/"+sess.ID+"/writer-metadata", writerMetadata)
	for _, d := range disks {
		b, err := os.ReadFile(d.Path)
		if err != nil {
			t.Fatal(err)
		}
		s.mustJSON(t, "PUT", "/api/v1/sessions/"+sess.ID+"/disks/"+d.Name, b)
	}
	rc1 := s.mustJSON(t, "POST", "/api/v1/sessions/"+sess.ID+"/complete", nil)

	// Snapshot 2 through the agent, with an agent token and the pinned
	// key: a copy backup of an unchanged disk and a changed one (dedup).
	var agentTok struct{ Token string }
	json.Unmarshal(s.mustJSON(t, "POST", "/api/v1/tokens", map[string]string{"role": "agent", "host": "HV01"}), &agentTok)
	next := changedScratch(t, work, disks[3].Raw)
	rc2 := mustCLI(t, "backup", "--server", s.URL, "--token", agentTok.Token, "--receipt-key", e.ReceiptKey,
		"--host", "HV01", "--vm", "VM1", "--type", "copy", disks[0].Path, next.Path)
	e.Receipts = []json.RawMessage{rc1, json.RawMessage(rc2)}
	var ids [2]struct{ Snapshot string }
	for i, rc := range e.Receipts {
		if err := json.Unmarshal(rc, &ids[i]); err != nil || ids[i].Snapshot == "" {
			t.Fatalf("receipt %d names no snapshot: %v %s", i, err, rc)
		}
	}
	sources := map[string][]sourceDisk{ids[0].Snapshot: disks, ids[1].Snapshot: {disks[0], next}}

	// Retention: a policy, and the first snapshot protected.
	s.mustJSON(t, "PUT", "/api/v1/policies/vm1", map[string]any{"match": map[string]string{"host": "HV01", "vm": "VM*"}, "keep_last": 1})
	s.mustJSON(t, "PUT", "/api/v1/snapshots/"+ids[0].Snapshot+"/protected", "true")
	e.Protected = ids[0].Snapshot
	record(t, s, e, sources)
	s.stop(t)
	save(t, e, repoDir, state)
}

// record fills e with the server's answers and restores, checking each
// restore against the disk it came from.
func record(t *testing.T, s *server, e *expectations, sources map[string][]sourceDisk) {
	t.Helper()
	e.Snapshots = s.mustJSON(t, "GET", "/api/v1/snapshots", nil)
	e.Policies = s.mustJSON(t, "GET", "/api/v1/policies", nil)
	e.ForgetDryRun = s.mustJSON(t, "POST", "/api/v1/forget", map[string]bool{"dry_run": true})
	e.Tokens = s.mustJSON(t, "GET", "/api/v1/tokens", nil)
	e.Stats = s.mustJSON(t, "GET", "/api/v1/stats", nil)
	var check struct{ OK bool }
	if json.Unmarshal(s.mustJSON(t, "POST", "/api/v1/check", map[string]int{"read_data_percent": 100}), &check); !check.OK {
		t.Fatal("check of the new repository is not ok")
	}
	for _, id := range sortedKeys(sources) {
		e.Manifests[id] = s.mustJSON(t, "GET", "/api/v1/snapshots/"+id, nil)
		if id == e.Protected {
			code, doc := s.call(t, "GET", "/api/v1/snapshots/"+id+"/writer-metadata", nil)
			if code != http.StatusOK || !bytes.Equal(doc, writerMetadata) {
				t.Fatalf("writer metadata: %d %q", code, doc)
			}
			e.WriterMeta[id] = sha(doc)
		}
		for _, d := range sources[id] {
			for _, f := range formats {
				n, sum := restoreDisk(t, s, id, d.Name, f)
				e.Restores = append(e.Restores, restore{Snapshot: id, Disk: d.Name, Format: f, Size: n, SHA256: sum})
			}
			checkSource(t, s, id, d)
		}
	}
	var m struct {
		Disks []struct{ Name, Parent string }
	}
	json.Unmarshal(e.Manifests[e.Protected], &m)
	if !slices.Contains(m.Disks, struct{ Name, Parent string }{"data-diff.vhdx", "data.vhdx"}) {
		t.Fatalf("the differencing disk is not linked to its parent: %+v", m.Disks)
	}
}

// checkSource checks a snapshot disk against its source: the original
// restore is the uploaded file, and the raw, vhd and vhdx restores (read by
// qemu-img) hold its virtual content.
func checkSource(t *testing.T, s *server, id string, d sourceDisk) {
	t.Helper()
	file, _ := os.ReadFile(d.Path)
	dir := t.TempDir()
	for _, f := range formats {
		code, b := s.call(t, "GET", "/api/v1/snapshots/"+id+"/disks/"+d.Name+"?format="+f, nil)
		if code != http.StatusOK {
			t.Fatalf("restore %s %s %s: %d", id, d.Name, f, code)
		}
		want := d.Raw
		switch f {
		case "original":
			want = file
		case "vhd", "vhdx":
			p := filepath.Join(dir, "restore."+f)
			os.WriteFile(p, b, 0o600)
			qf := map[string]string{"vhd": "vpc", "vhdx": "vhdx"}[f]
			out, err := exec.Command("qemu-img", "convert", "-f", qf, "-O", "raw", p, p+".raw").CombinedOutput()
			if err != nil {
				t.Fatalf("qemu-img reads the %s restore of %s: %v\n%s", f, d.Name, err, out)
			}
			b, _ = os.ReadFile(p + ".raw")
			if len(b) < len(d.Raw) {
				t.Fatalf("the %s restore of %s holds %d bytes, want %d", f, d.Name, len(b), len(d.Raw))
			}
			want = append(bytes.Clone(d.Raw), make([]byte, len(b)-len(d.Raw))...) // rounded up to sectors
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("the %s restore of %s in %s differs from what was backed up", f, d.Name, id)
		}
	}
}

// save replaces testdata/v1 with the stopped server's repository and state
// and the expectations.
func save(t *testing.T, e *expectations, repoDir, state string) {
	t.Helper()
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}
	copyTree(t, repoDir, filepath.Join(dataDir, "repo"))
	copyTree(t, state, filepath.Join(dataDir, "state"))
	js, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "expect.json"), append(js, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	var total int64
	filepath.WalkDir(dataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			total += fi.Size()
			if fi.Size() > 1<<20 {
				t.Errorf("%s is %d bytes, over 1 MiB: make the generated disks smaller", p, fi.Size())
			}
		}
		return err
	})
	t.Logf("wrote %s: %d bytes", dataDir, total)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// gitHead names the commit the generator ran on, for the record.
func gitHead() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	head := strings.TrimSpace(string(out))
	if st, _ := exec.Command("git", "status", "--porcelain", "--", "../..").Output(); len(st) > 0 {
		head += " (with uncommitted changes)"
	}
	return head
}
