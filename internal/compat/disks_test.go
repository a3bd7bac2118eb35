package compat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// region is content written into a raw image: random bytes from the
// image's seeded generator, or compressible text.
type region struct {
	off, n int64
	text   bool
}

// rawImage returns a deterministic image of size bytes, zero outside the
// regions.
func rawImage(seed uint64, size int64, regions ...region) []byte {
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, r := range regions {
		p := b[r.off : r.off+r.n]
		if !r.text {
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			continue
		}
		var buf bytes.Buffer
		for i := 0; int64(buf.Len()) < r.n; i++ {
			fmt.Fprintf(&buf, "shadowvault compat line %d of image %d: %d\n", i, seed, rng.IntN(1e6))
		}
		copy(p, buf.Bytes())
	}
	return b
}

// sourceDisk is a disk the generator backs up.
type sourceDisk struct {
	Name string // the disk's name in the snapshot
	Path string // the file uploaded
	Raw  []byte // its virtual content (merged with the parent for a child)
}

// snapshotDisks makes the disks of the first snapshot in dir: a dynamic
// VHD and a dynamic VHDX from qemu-img, a differencing VHDX whose parent
// is that VHDX, and a raw disk whose size is no multiple of 512. A 64 KiB
// block of random data is in both the VHD and the VHDX, so they dedup.
func snapshotDisks(t *testing.T, dir string) []sourceDisk {
	t.Helper()
	const k, m = 1 << 10, 1 << 20
	shared := rawImage(99, 64*k, region{0, 64 * k, false})
	sys := rawImage(1, 4*m, region{0, 64 * k, false}, region{64 * k, 192 * k, true}, region{3*m + 512, 32 * k, false})
	copy(sys[1*m:], shared)
	data := rawImage(2, 3*m, region{0, 48 * k, false}, region{m + 256*k, 64 * k, true})
	copy(data[2*m:], shared)
	// The child changes 16 KiB of block 0, zeroes block 1 (a ZERO block)
	// and leaves block 2 to the parent.
	child := bytes.Clone(data)
	copy(child[100*k:], rawImage(3, 16*k, region{0, 16 * k, false}))
	clear(child[m : 2*m])
	scratch := rawImage(4, m+1000, region{0, 32 * k, true}, region{512 * k, 24 * k, false}, region{m, 1000, false})

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	qemu := func(raw, format, opts, out string) string {
		p := filepath.Join(dir, out)
		if b, err := exec.Command(vhdtest.Need(t, "qemu-img"), "convert", "-f", "raw", "-O", format, "-o", opts, raw, p).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img convert %s: %v\n%s", out, err, b)
		}
		return p
	}
	sysVHD := qemu(write("sys.raw", sys), "vpc", "subformat=dynamic,force_size=on", "sys.vhd")
	dataVHDX := qemu(write("data.raw", data), "vhdx", "subformat=dynamic,block_size=1M", "data.vhdx")
	childVHDX := filepath.Join(dir, "data-diff.vhdx")
	vhdtest.DiffVHDX(t, childVHDX, vhdtest.Parent{
		Path: `D:\Hyper-V\VM1\data.vhdx`, ID: vhdxDataWriteGUID(t, dataVHDX), Raw: filepath.Join(dir, "data.raw"),
	}, write("data-diff.raw", child))
	return []sourceDisk{
		{"sys.vhd", sysVHD, sys},
		{"data.vhdx", dataVHDX, data},
		{"data-diff.vhdx", childVHDX, child},
		{"scratch.raw", write("scratch.raw", scratch), scratch},
	}
}

// changedScratch is the raw disk of the first snapshot with 4 KiB changed,
// for the second snapshot.
func changedScratch(t *testing.T, dir string, old []byte) sourceDisk {
	t.Helper()
	b := bytes.Clone(old)
	copy(b[8<<10:], rawImage(5, 4<<10, region{0, 4 << 10, false}))
	p := filepath.Join(dir, "next", "scratch.raw")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return sourceDisk{"scratch.raw", p, b}
}

// vhdxDataWriteGUID reads the DataWriteGuid of the current header (the
// higher sequence number) of a VHDX, which a child names as its parent.
func vhdxDataWriteGUID(t *testing.T, path string) (id [16]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var best uint64
	for _, off := range []int{vhdxHeader1, vhdxHeader2} {
		h := b[off : off+4096]
		if seq := binary.LittleEndian.Uint64(h[8:]); string(h[:4]) == "head" && seq >= best {
			best = seq
			copy(id[:], h[32:48])
		}
	}
	if best == 0 {
		t.Fatalf("%s: no VHDX header", path)
	}
	return id
}
