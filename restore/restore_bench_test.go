package restore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"

	"github.com/shadowvault/shadowvault/restore"
)

// restoreDisk returns size bytes of random, text and zero regions.
func restoreDisk(size int) []byte {
	src := mrand.NewChaCha8([32]byte{5})
	r := mrand.New(src)
	d := make([]byte, size)
	for off := 0; off < size; {
		n := min(size-off, 1<<20+r.IntN(8<<20))
		switch r.IntN(4) {
		case 0, 1:
			src.Read(d[off : off+n])
		case 2:
			for i := off; i < off+n; {
				i += copy(d[i:off+n], fmt.Sprintf("%08d the guest wrote this line of a log file, ", r.IntN(1e8)))
			}
		}
		off += n
	}
	return d
}

// BenchmarkWriteVirtual restores a 256 MiB disk (half random, a quarter
// text, a quarter zeros) from a local repository on disk (packs in the
// page cache): index lookups, pack reads, zstd, BLAKE3 checks and the
// ordered output, to io.Discard. MB/s is of the virtual disk.
func BenchmarkWriteVirtual(b *testing.B) {
	ctx := context.Background()
	r := openRepo(b)

	const size = 256 << 20
	disk := restoreDisk(size)
	m := backUp(b, r, map[string][]byte{"disk.raw": disk})
	// Check once that the restore is right.
	d, err := restore.Open(ctx, r, m, "disk.raw", restore.Raw)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	if _, err := d.WriteTo(h); err != nil || sha256.Sum256(disk) != [32]byte(h.Sum(nil)) {
		b.Fatalf("restore differs: %v", err)
	}
	disk = nil

	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := restore.Open(ctx, r, m, "disk.raw", restore.Raw)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := d.WriteTo(io.Discard); err != nil || n != size {
			b.Fatalf("restore: %d bytes, %v", n, err)
		}
	}
}

// BenchmarkWriteImage restores the disk of BenchmarkWriteVirtual as a
// VHDX and a VHD: whole (WriteTo), in consecutive ranges of 1 MiB and 32
// MiB (WriteRange, as an HTTP client reading by ranges does), and through
// the output's ReadAt in 4 MiB reads. MB/s is of the VHDX or VHD file.
func BenchmarkWriteImage(b *testing.B) {
	ctx := context.Background()
	r := openRepo(b)
	m := backUp(b, r, map[string][]byte{"disk.raw": restoreDisk(256 << 20)})
	for _, f := range []restore.Format{restore.VHDX, restore.VHD} {
		open := func(b *testing.B) *restore.Disk {
			d, err := restore.Open(ctx, r, m, "disk.raw", f)
			if err != nil {
				b.Fatal(err)
			}
			return d
		}
		size := open(b).Size()
		run := func(name string, restoreAll func(*restore.Disk) error) {
			b.Run(f.String()+"/"+name, func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					if err := restoreAll(open(b)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		run("WriteTo", func(d *restore.Disk) error {
			_, err := d.WriteTo(io.Discard)
			return err
		})
		for _, step := range []int64{1 << 20, 32 << 20} {
			run(fmt.Sprintf("WriteRange-%dMiB", step>>20), func(d *restore.Disk) error {
				for off := int64(0); off < d.Size(); off += step {
					if _, err := d.WriteRange(io.Discard, restore.Range{Off: off, Len: min(step, d.Size()-off)}); err != nil {
						return err
					}
				}
				return nil
			})
		}
		run("ReadAt-4MiB", func(d *restore.Disk) error {
			out, p := d.Output(), make([]byte, 4<<20)
			for off := int64(0); off < d.Size(); off += int64(len(p)) {
				if _, err := out.ReadAt(p, off); err != nil && err != io.EOF {
					return err
				}
			}
			return nil
		})
	}
}
