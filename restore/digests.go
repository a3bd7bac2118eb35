package restore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/diskmap"
)

// DigestBlock is the block size of the block digests an incremental
// agent compares its disk with.
const DigestBlock = 1 << 20

// DigestSize is the size of one block digest (BLAKE3-256).
const DigestSize = 32

// Digests returns the BLAKE3 of each block of blockSize bytes of the
// disk's virtual content (the last block may be shorter), in order. A
// block of zero extents only is not read. Given the digests of an earlier
// disk (prev, opened too), a block made of the same chunk segments as the
// same block of prev has its digest, unread: an incremental disk reads
// only what changed. Blocks are hashed on GOMAXPROCS goroutines, each
// reading runs of blocks with the parallel chunk fetch.
func (d *Disk) Digests(ctx context.Context, blockSize int64, prev *Disk, prevDigests []byte) ([]byte, error) {
	size := d.c.Size()
	same := func(off, k int64) bool {
		if prev == nil || min(blockSize, prev.c.Size()-off) != k || (off+k+blockSize-1)/blockSize*DigestSize > int64(len(prevDigests)) {
			return false // not the same block length in prev, or no digest
		}
		return sameSegments(d.c, prev.c, off, k)
	}
	n := (size + blockSize - 1) / blockSize
	out := make([]byte, n*DigestSize)
	// Only the last block may be shorter than blockSize.
	zeroFull, zeroLast := blake3.Sum256(make([]byte, blockSize)), blake3.Sum256(make([]byte, size-(n-1)*blockSize))
	zeroSum := func(k int64) [DigestSize]byte {
		if k == blockSize {
			return zeroFull
		}
		return zeroLast
	}
	// Blocks per read: 4 MiB of the default blocks per worker keeps the
	// chunk fetch busy and a background computation small next to the
	// backups it runs beside.
	const run = 4
	next := make(chan int64)
	var once sync.Once
	var firstErr error
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, run*blockSize)
			for first := range next {
				off := first * blockSize
				k := min(int64(len(buf)), size-off)
				if !d.c.Allocated(off, k) {
					for b := int64(0); b*blockSize < k; b++ {
						s := zeroSum(min(blockSize, k-b*blockSize))
						copy(out[(first+b)*DigestSize:], s[:])
					}
					continue
				}
				reused := make([]bool, (k+blockSize-1)/blockSize)
				all := true
				for b := range reused {
					bo := off + int64(b)*blockSize
					if reused[b] = same(bo, min(blockSize, off+k-bo)); reused[b] {
						i := (first + int64(b)) * DigestSize
						copy(out[i:i+DigestSize], prevDigests[i:i+DigestSize])
					}
					all = all && reused[b]
				}
				if all {
					continue
				}
				if _, err := d.c.ReadAtContext(ctx, buf[:k], off); err != nil {
					fail(fmt.Errorf("digests at %d: %w", off, err))
					continue
				}
				for b := int64(0); b*blockSize < k; b++ {
					if reused[b] {
						continue
					}
					s := blake3.Sum256(buf[b*blockSize : min((b+1)*blockSize, k)])
					copy(out[(first+b)*DigestSize:], s[:])
				}
			}
		}()
	}
	for first := int64(0); first < n && ctx.Err() == nil; first += run {
		next <- first
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, firstErr
}

// sameSegments reports whether [off, off+n) of a and b are made of the same
// segments: the same bytes, known without reading them.
func sameSegments(a, b *content, off, n int64) bool {
	var sa []diskmap.Segment
	if a.segments(off, n, func(s diskmap.Segment) error { sa = append(sa, s); return nil }) != nil {
		return false
	}
	i := 0
	err := b.segments(off, n, func(s diskmap.Segment) error {
		if i >= len(sa) || sa[i] != s {
			return errDiffer
		}
		i++
		return nil
	})
	return err == nil && i == len(sa)
}

var errDiffer = errors.New("segments differ")

// RangeDigests returns the BLAKE3 of each block of blockSize bytes of
// [off, off+n) of the virtual content, reading just that range (the last
// block may be shorter where the disk ends). off is a multiple of
// blockSize. An incremental agent asks for them, in blocks smaller than
// the stored digests', where a stored digest differs from its disk's.
func (d *Disk) RangeDigests(ctx context.Context, off, n, blockSize int64) ([]byte, error) {
	if blockSize <= 0 || off < 0 || off%blockSize != 0 || n < 0 {
		return nil, fmt.Errorf("digests of [%d,+%d) in blocks of %d", off, n, blockSize)
	}
	n = min(n, d.c.Size()-off)
	if n <= 0 {
		return nil, nil
	}
	out := make([]byte, 0, (n+blockSize-1)/blockSize*DigestSize)
	step := max(blockSize, 4<<20/blockSize*blockSize)
	buf := make([]byte, min(step, n))
	for pos := off; pos < off+n; pos += step {
		k := min(step, off+n-pos)
		if _, err := d.c.ReadAtContext(ctx, buf[:k], pos); err != nil {
			return nil, fmt.Errorf("digests at %d: %w", pos, err)
		}
		for b := int64(0); b < k; b += blockSize {
			s := blake3.Sum256(buf[b:min(b+blockSize, k)])
			out = append(out, s[:]...)
		}
	}
	return out, nil
}
