package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// nbdProc is a running `shadowvault nbd`.
type nbdProc struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs bytes.Buffer // guarded by mu
	done chan struct{}
}

func (p *nbdProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

var nbdURLRE = regexp.MustCompile(`url=(nbd://[0-9.:]+/\S*)`)

// startNBD runs `shadowvault nbd args...` against s and waits for the URL
// it logs.
func startNBD(t *testing.T, s *server, args ...string) *nbdProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"nbd", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "SHADOWVAULT_SERVER="+s.url, "SHADOWVAULT_TOKEN="+s.token, "SHADOWVAULT_CA_CERT=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nbdProc{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := nbdURLRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	select {
	case p.url = <-found:
	case <-p.done:
		cmd.Wait()
		t.Fatalf("shadowvault nbd exited:\n%s", p.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("shadowvault nbd did not start:\n%s", p.log())
	}
	return p
}

// stop interrupts the process and checks that it exits cleanly.
func (p *nbdProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	exited := make(chan error, 1)
	go func() { <-p.done; exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil || !strings.Contains(p.log(), "nbd stopped") {
			t.Fatalf("shadowvault nbd after SIGINT: %v\n%s", err, p.log())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("shadowvault nbd did not stop on SIGINT:\n%s", p.log())
	}
}

func runQemu(t *testing.T, tool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNBDInstantRecovery: a VHDX made by qemu-img is backed up; `shadowvault
// nbd` serves the snapshot disk; qemu reads it in place (compare, info,
// convert) and writes to a qcow2 overlay over it, which never reaches the
// snapshot.
func TestNBDInstantRecovery(t *testing.T) {
	for _, tool := range []string{"qemu-img", "qemu-io"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package qemu-utils)", tool)
		}
	}
	dir := t.TempDir()
	s := startServer(t, dir)
	raw := filepath.Join(dir, "disk.raw")
	data := randomFile(t, raw, 24<<20)
	img := vhdtest.Convert(t, raw, "vhdx")
	rc := backupJSON(t, s, img)
	name := filepath.Base(img)

	p := startNBD(t, s, rc.Snapshot, name)
	if want := "/" + name; !strings.HasSuffix(p.url, want) {
		t.Fatalf("nbd URL %s does not end in %s", p.url, want)
	}
	start := time.Now()
	runQemu(t, "qemu-img", "compare", "-f", "vhdx", "-F", "raw", img, p.url)
	t.Logf("qemu-img compare of %d MiB over NBD: %v", len(data)>>20, time.Since(start))

	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal([]byte(runQemu(t, "qemu-img", "info", "--output=json", p.url)), &info); err != nil || info.VirtualSize != int64(len(data)) {
		t.Fatalf("qemu-img info over NBD: %+v (%v), want %d bytes", info, err, len(data))
	}
	// The empty export name (nbd://host:port) is the disk too.
	runQemu(t, "qemu-img", "compare", "-f", "raw", "-F", "raw", raw, strings.TrimSuffix(p.url, "/"+name))

	// Boot-style use: a qcow2 overlay over the export takes the writes.
	overlay := filepath.Join(dir, "overlay.qcow2")
	runQemu(t, "qemu-img", "create", "-f", "qcow2", "-b", p.url, "-F", "raw", overlay)
	runQemu(t, "qemu-io", "-c", "write -P 0x55 0 64k", overlay)
	runQemu(t, "qemu-io", "-r", "-c", "read -P 0x55 0 64k", overlay)
	merged := filepath.Join(dir, "merged.raw")
	runQemu(t, "qemu-img", "convert", "-O", "raw", overlay, merged)
	got, _ := os.ReadFile(merged)
	if want := append(bytes.Repeat([]byte{0x55}, 64<<10), data[64<<10:]...); !bytes.Equal(got, want) {
		t.Fatal("the overlay does not read as the snapshot with its write over it")
	}
	again := filepath.Join(dir, "again.raw")
	runQemu(t, "qemu-img", "convert", "-f", "raw", "-O", "raw", p.url, again)
	if got, _ := os.ReadFile(again); !bytes.Equal(got, data) {
		t.Fatal("the export changed after the overlay's write")
	}
	if !bytes.Equal(restoreRaw(t, s, rc.Snapshot, name), data) {
		t.Fatal("the snapshot changed after the overlay's write")
	}
	p.stop(t)

	// A restore token of the host suffices; --name sets the export name;
	// an unknown disk fails at start.
	var tok apiv1.TokenCreated
	if err := s.client().DoJSON(context.Background(), "POST", "/api/v1/tokens", apiv1.TokenRequest{Role: apiv1.RoleRestore, Host: "HV01"}, &tok); err != nil {
		t.Fatal(err)
	}
	q := startNBD(t, s, "--token", tok.Token, "--name", "boot", rc.Snapshot, name)
	if !strings.HasSuffix(q.url, "/boot") {
		t.Fatalf("nbd --name boot: URL %s", q.url)
	}
	runQemu(t, "qemu-img", "compare", "-f", "raw", "-F", "raw", raw, q.url)
	q.stop(t)
	if code := run(t, s, "nbd", "--listen", "127.0.0.1:0", rc.Snapshot, "nosuch.vhdx"); code != exitRefused {
		t.Fatalf("nbd of an unknown disk exited %d, want %d", code, exitRefused)
	}
}
