package nbd

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Real clients: qemu-img, qemu-io and qemu-nbd (Debian package
// qemu-utils) against a Server on a TCP port.

func needQemu(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package qemu-utils)", tool)
		}
	}
}

// listen serves exports on 127.0.0.1 until the test ends and returns the
// address.
func listen(t *testing.T, exports ...*Export) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s := testServer(t, exports...)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// qemu runs a qemu tool and returns its combined output; failure fails
// the test unless fail is set, and then success does.
func qemu(t *testing.T, fail bool, tool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if (err != nil) != fail {
		t.Fatalf("%s %s: %v (want failure: %v)\n%s", tool, strings.Join(args, " "), err, fail, out)
	}
	return string(out)
}

func TestQemuImg(t *testing.T) {
	needQemu(t, "qemu-img", "qemu-io", "qemu-nbd")
	data := pattern(8<<20 + 4096)
	copy(data, bytes.Repeat([]byte{0xab}, 4096))
	addr := listen(t, memExport("disk0.vhdx", data), memExport("second", pattern(1<<20)))
	url := "nbd://" + addr + "/disk0.vhdx"
	dir := t.TempDir()

	var info struct {
		VirtualSize int64  `json:"virtual-size"`
		Format      string `json:"format"`
	}
	for _, u := range []string{url, "nbd://" + addr} { // named, and the default export
		if err := json.Unmarshal([]byte(qemu(t, false, "qemu-img", "info", "--output=json", u)), &info); err != nil {
			t.Fatal(err)
		}
		if info.VirtualSize != int64(len(data)) || info.Format != "raw" {
			t.Fatalf("qemu-img info %s: %+v, want raw of %d bytes", u, info, len(data))
		}
	}

	out := filepath.Join(dir, "out.raw")
	qemu(t, false, "qemu-img", "convert", "-f", "raw", "-O", "raw", url, out)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("qemu-img convert from NBD differs from the export (%v)", err)
	}

	// A size that is not a multiple of 512 reads as the data and zeros.
	odd := pattern(1<<20 + 333)
	oddURL := "nbd://" + listen(t, memExport("odd", odd)) + "/odd"
	qemu(t, false, "qemu-img", "convert", "-f", "raw", "-O", "raw", oddURL, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, append(odd, make([]byte, 512-333)...)) {
		t.Fatalf("qemu-img convert of an export of %d bytes gives %d bytes, or other ones", len(odd), len(got))
	}

	qemu(t, false, "qemu-io", "-f", "raw", "-r", "-c", "read -P 0xab 0 4k", url)
	if o := qemu(t, true, "qemu-io", "-f", "raw", "-r", "-c", "read -P 0xcd 0 4k", url); !strings.Contains(o, "Pattern verification failed") {
		t.Fatalf("qemu-io read of a wrong pattern:\n%s", o)
	}
	// qemu cannot write to the export.
	qemu(t, true, "qemu-io", "-f", "raw", "-c", "write -P 0x11 0 4k", url)

	// qemu-nbd --list uses NBD_OPT_LIST and NBD_OPT_INFO.
	host, port, _ := net.SplitHostPort(addr)
	if o := qemu(t, false, "qemu-nbd", "--list", "-b", host, "-p", port); !strings.Contains(o, "disk0.vhdx") || !strings.Contains(o, "second") || !strings.Contains(o, "size:  8392704") ||
		!strings.Contains(o, "description: test disk second") || !strings.Contains(o, "readonly") {
		t.Fatalf("qemu-nbd --list:\n%s", o)
	}
}

// TestQemuOverlay: the instant recovery recipe. A qcow2 overlay over the
// export takes the writes; the export is unchanged.
func TestQemuOverlay(t *testing.T) {
	needQemu(t, "qemu-img", "qemu-io")
	data := pattern(4 << 20)
	orig := bytes.Clone(data)
	url := "nbd://" + listen(t, memExport("d.raw", data)) + "/d.raw"
	dir := t.TempDir()
	overlay := filepath.Join(dir, "overlay.qcow2")
	qemu(t, false, "qemu-img", "create", "-f", "qcow2", "-b", url, "-F", "raw", overlay)
	qemu(t, false, "qemu-io", "-c", "write -P 0x55 0 64k", overlay)
	qemu(t, false, "qemu-io", "-r", "-c", "read -P 0x55 0 64k", overlay)

	merged := filepath.Join(dir, "merged.raw")
	qemu(t, false, "qemu-img", "convert", "-O", "raw", overlay, merged)
	got, _ := os.ReadFile(merged)
	want := append(bytes.Repeat([]byte{0x55}, 64<<10), orig[64<<10:]...)
	if !bytes.Equal(got, want) {
		t.Fatal("the overlay does not read as the export with its write over it")
	}
	// The overlay converts to a disk of its own; it cannot be committed
	// into the export.
	vhdx := filepath.Join(dir, "recovered.vhdx")
	qemu(t, false, "qemu-img", "convert", "-O", "vhdx", overlay, vhdx)
	qemu(t, false, "qemu-img", "compare", "-f", "vhdx", "-F", "raw", vhdx, merged)
	if o := qemu(t, true, "qemu-img", "commit", overlay); !strings.Contains(o, "read-only") {
		t.Fatalf("qemu-img commit into the export:\n%s", o)
	}
	again := filepath.Join(dir, "again.raw")
	qemu(t, false, "qemu-img", "convert", "-f", "raw", "-O", "raw", url, again)
	if got, _ := os.ReadFile(again); !bytes.Equal(got, orig) || !bytes.Equal(data, orig) {
		t.Fatal("the export changed under the overlay's write")
	}
}

// TestQemuNBDClient: qemu-nbd opens the export as its image and serves it
// on (here on a unix socket).
func TestQemuNBDClient(t *testing.T) {
	needQemu(t, "qemu-img", "qemu-nbd")
	data := pattern(2 << 20)
	url := "nbd://" + listen(t, memExport("d", data)) + "/d"
	sock := filepath.Join(t.TempDir(), "nbd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "qemu-nbd", "--read-only", "-f", "raw", "--persistent", "-k", sock, url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("qemu-nbd did not start")
		}
	}
	out := filepath.Join(t.TempDir(), "out.raw")
	qemu(t, false, "qemu-img", "convert", "-f", "raw", "-O", "raw", "nbd+unix:///?socket="+sock, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("the export read through qemu-nbd differs")
	}
}
