package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// bootSector is a 16-bit x86 boot sector (GNU as, .code16, loaded at
// 0x7c00): it prints "shadowvault booted" on the first serial port,
// writes itself to the disk's second sector with BIOS int 13h (AH=03h,
// CHS 0/0/2, the boot drive), and leaves qemu through isa-debug-exit at
// port 0xf4 with 0x10 if the write succeeded (qemu exits 33), 0x20 if not
// (65).
var bootSector = []byte{
	0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xc0, // xor ax,ax; mov ds,ax; mov es,ax
	0x52,             // push dx (DL: the boot drive)
	0xbe, 0x2d, 0x7c, // mov si, msg
	0xba, 0xf8, 0x03, // mov dx, 0x3f8
	0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, // 1: lodsb; test al,al; jz 2f; out dx,al; jmp 1b
	0x5a,             // 2: pop dx
	0xb8, 0x01, 0x03, // mov ax, 0x0301 (write 1 sector)
	0xb9, 0x02, 0x00, // mov cx, 0x0002 (cylinder 0, sector 2)
	0x30, 0xf6, // xor dh,dh (head 0)
	0xbb, 0x00, 0x7c, // mov bx, 0x7c00 (this sector)
	0xcd, 0x13, // int 0x13
	0xb0, 0x10, 0x73, 0x02, 0xb0, 0x20, // mov al,0x10; jnc 3f; mov al,0x20
	0xe6, 0xf4, // 3: out 0xf4, al
	0xfa, 0xf4, // cli; hlt
}

const bootMessage = "shadowvault booted"

// TestNBDBootVM: instant recovery with a virtual machine. A bootable disk
// (the boot sector above) is backed up as a VHDX; `shadowvault nbd`
// serves the snapshot; qemu-system-x86_64 boots a qcow2 overlay over the
// NBD export, the guest prints on its serial port and writes its disk;
// the write lands in the overlay and the snapshot is unchanged. Then the
// same with qemu's -snapshot instead of an overlay file.
func TestNBDBootVM(t *testing.T) {
	for _, tool := range []string{"qemu-img", "qemu-io", "qemu-system-x86_64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian packages qemu-utils, qemu-system-x86)", tool)
		}
	}
	dir := t.TempDir()
	s := startServer(t, dir)
	data := make([]byte, 8<<20)
	copy(data, bootSector)
	copy(data[len(bootSector):], bootMessage+"\r\n\x00")
	data[510], data[511] = 0x55, 0xaa
	raw := filepath.Join(dir, "boot.raw")
	if err := os.WriteFile(raw, data, 0o600); err != nil {
		t.Fatal(err)
	}
	img := vhdtest.Convert(t, raw, "vhdx")
	rc := backupJSON(t, s, img)
	p := startNBD(t, s, rc.Snapshot, filepath.Base(img))

	overlay := filepath.Join(dir, "overlay.qcow2")
	runQemu(t, "qemu-img", "create", "-f", "qcow2", "-b", p.url, "-F", "raw", overlay)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// cache=writethrough: the guest leaves through isa-debug-exit, an
	// abrupt exit that would drop a write still in qemu's cache.
	vm := exec.CommandContext(ctx, "qemu-system-x86_64", "-display", "none", "-serial", "stdio", "-monitor", "none",
		"-no-reboot", "-m", "32", "-drive", "file="+overlay+",format=qcow2,if=ide,cache=writethrough",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	out, err := vm.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 33 || !strings.Contains(string(out), bootMessage) {
		t.Fatalf("the VM: %v (want exit status 33: the guest's disk write succeeded)\n%s\nnbd log:\n%s", err, out, p.log())
	}

	// The guest's write is in the overlay; the snapshot is unchanged.
	merged := filepath.Join(dir, "merged.raw")
	runQemu(t, "qemu-img", "convert", "-O", "raw", overlay, merged)
	got, _ := os.ReadFile(merged)
	want := bytes.Clone(data)
	copy(want[512:], data[:512])
	if !bytes.Equal(got, want) {
		t.Fatal("the overlay does not hold the guest's write over the snapshot")
	}
	runQemu(t, "qemu-img", "compare", "-f", "raw", "-F", "raw", raw, p.url)

	// A throwaway boot straight from the export: -snapshot puts qemu's
	// own temporary overlay over it.
	vm = exec.CommandContext(ctx, "qemu-system-x86_64", "-display", "none", "-serial", "stdio", "-monitor", "none",
		"-no-reboot", "-m", "32", "-snapshot", "-drive", "file="+p.url+",format=raw,if=ide",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	out, err = vm.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 33 || !strings.Contains(string(out), bootMessage) {
		t.Fatalf("the VM with -snapshot: %v (want exit status 33)\n%s", err, out)
	}
	runQemu(t, "qemu-img", "compare", "-f", "raw", "-F", "raw", raw, p.url)
	if !bytes.Equal(restoreRaw(t, s, rc.Snapshot, filepath.Base(img)), data) {
		t.Fatal("the snapshot changed")
	}
	p.stop(t)
}
