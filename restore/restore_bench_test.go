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
