package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// backupJSON runs a backup command and returns its receipt.
func backupJSON(t *testing.T, s *server, args ...string) apiv1.Receipt {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"backup", "--host", "HV01", "--vm", "VM1"}, args...)...)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("backup %v: %v\n%s", args, err, stderr.String())
	}
	var rc apiv1.Receipt
	if err := json.Unmarshal(stdout.Bytes(), &rc); err != nil {
		t.Fatalf("receipt: %v\n%s", err, stdout.String())
	}
	return rc
}

func restoreRaw(t *testing.T, s *server, snap, disk string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.client().Restore(context.Background(), snap, disk, "raw", &buf, nil); err != nil {
		t.Fatalf("restore %s/%s: %v", snap, disk, err)
	}
	return buf.Bytes()
}

// TestIncrementalCLI: the real binaries, a VHDX made by qemu-img: a full
// backup, an incremental from a --changed-ranges file and one from block
// digests, each restoring the new content; then an agent killed in the
// middle of an incremental leaves no snapshot, and the next one works.
func TestIncrementalCLI(t *testing.T) {
	vhdtest.Need(t, "qemu-img")
	dir := t.TempDir()
	s := startServer(t, dir)
	raw := filepath.Join(dir, "disk.raw")
	data := randomFile(t, raw, 16<<20)
	img := vhdtest.Convert(t, raw, "vhdx")
	name := filepath.Base(img)
	full := backupJSON(t, s, img)

	// Change 1 MiB in two places; the VHDX is written again by qemu-img.
	copy(data[1<<20:], bytes.Repeat([]byte{1}, 512<<10))
	copy(data[9<<20:], bytes.Repeat([]byte{2}, 512<<10))
	if err := os.WriteFile(raw, data, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(img)
	vhdtest.Convert(t, raw, "vhdx")
	changes := filepath.Join(dir, "changes.json")
	os.WriteFile(changes, []byte(fmt.Sprintf(`[{"offset":%d,"length":%d},{"offset":%d,"length":%d}]`, 1<<20, 512<<10, 9<<20, 512<<10)), 0o600)
	inc := backupJSON(t, s, "--incremental", "--changed-ranges", changes, img)
	if d := inc.Disks[0]; d.Base != full.Snapshot || d.ChangedBytes != 1<<20 || d.StreamBytes > 1<<20+4096 {
		t.Fatalf("incremental from a file: %+v", d)
	}
	if !bytes.Equal(restoreRaw(t, s, inc.Snapshot, name), data) {
		t.Fatal("the incremental restores differently")
	}

	copy(data[5<<20:], bytes.Repeat([]byte{3}, 100))
	os.WriteFile(raw, data, 0o600)
	os.Remove(img)
	vhdtest.Convert(t, raw, "vhdx")
	dig := backupJSON(t, s, "--incremental", img)
	if d := dig.Disks[0]; d.Base != inc.Snapshot || d.ChangedBytes != 64<<10 {
		t.Fatalf("incremental from block digests: %+v (100 bytes changed: one 64 KiB block)", d)
	}
	if !bytes.Equal(restoreRaw(t, s, dig.Snapshot, name), data) {
		t.Fatal("the block-digest incremental restores differently")
	}

	// An agent killed mid-upload: no snapshot, no receipt.
	big := filepath.Join(dir, "big.raw")
	randomFile(t, big, 96<<20)
	bigFull := backupJSON(t, s, big)
	randomFile(t, big, 96<<20)
	os.WriteFile(changes, []byte(fmt.Sprintf(`[{"offset":0,"length":%d}]`, 96<<20)), 0o600)
	cmd := exec.Command(binary, "backup", "--host", "HV01", "--vm", "VM1", "--incremental", "--changed-ranges", changes, big)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list apiv1.SessionList
		if err := s.client().DoJSON(context.Background(), "GET", "/api/v1/sessions", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Sessions) > 0 && len(list.Sessions[0].Uploading) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the incremental upload never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if out.Len() != 0 {
		t.Fatalf("a killed agent printed a receipt: %s", out.String())
	}
	var snaps apiv1.SnapshotList
	if err := s.client().DoJSON(context.Background(), "GET", "/api/v1/snapshots", nil, &snaps); err != nil {
		t.Fatal(err)
	}
	if len(snaps.Snapshots) != 4 {
		t.Fatalf("%d snapshots after the killed incremental, want 4", len(snaps.Snapshots))
	}
	// The killed agent's session holds HV01/VM1 until its lease ends (one
	// session of a VM in flight): abort it, as an operator would, to
	// retry at once.
	var open apiv1.SessionList
	if err := s.client().DoJSON(context.Background(), "GET", "/api/v1/sessions", nil, &open); err != nil || len(open.Sessions) != 1 {
		t.Fatalf("sessions after the kill: %+v %v", open, err)
	}
	if err := s.client().Abort(context.Background(), open.Sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	again := backupJSON(t, s, "--incremental", "--changed-ranges", changes, big)
	want, _ := os.ReadFile(big)
	if again.Disks[0].Base != bigFull.Snapshot || !bytes.Equal(restoreRaw(t, s, again.Snapshot, "big.raw"), want) {
		t.Fatalf("the incremental after the kill: %+v", again.Disks[0])
	}
}
