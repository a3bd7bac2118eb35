package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strconv"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
)

// DigestSize is the size of one block digest: a BLAKE3-256.
const DigestSize = apiv1.DigestSize

// fineBlock is the block size the agent narrows a differing stored block
// down to: a change costs at most this much around it.
const fineBlock = 64 << 10

// Digests fetches the stored block digests of disk name of a snapshot:
// the BLAKE3 of each block of blockSize bytes of its virtual content (the
// last block may be shorter).
func (c *Client) Digests(ctx context.Context, snapshot, name string) (digests []byte, blockSize int64, err error) {
	return c.digests(ctx, snapshot, name, "")
}

// RangeDigests fetches the digests of count blocks of blockSize bytes from
// block from on, which the server computes from the snapshot's content.
func (c *Client) RangeDigests(ctx context.Context, snapshot, name string, blockSize, from, count int64) ([]byte, error) {
	q := url.Values{"block": {strconv.FormatInt(blockSize, 10)}, "from": {strconv.FormatInt(from, 10)}, "count": {strconv.FormatInt(count, 10)}}
	d, bs, err := c.digests(ctx, snapshot, name, "?"+q.Encode())
	if err == nil && bs != blockSize {
		err = fmt.Errorf("%w: digests in blocks of %d, asked for %d", ErrServer, bs, blockSize)
	}
	return d, err
}

func (c *Client) digests(ctx context.Context, snapshot, name, query string) ([]byte, int64, error) {
	p := "/api/v1/snapshots/" + url.PathEscape(snapshot) + "/disks/" + url.PathEscape(name) + "/digests" + query
	resp, err := c.send(ctx, "GET", p, nil, 0, nil)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	blockSize, err := strconv.ParseInt(resp.Header.Get(apiv1.BlockSizeHeader), 10, 64)
	if err != nil || blockSize <= 0 || blockSize > 64<<20 {
		return nil, 0, fmt.Errorf("%w: digests of %s/%s: block size %q", ErrServer, snapshot, name, resp.Header.Get(apiv1.BlockSizeHeader))
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, 0, fmt.Errorf("%w: digests of %s/%s: %w", ErrNetwork, snapshot, name, err)
	}
	if buf.Len()%DigestSize != 0 {
		return nil, 0, fmt.Errorf("%w: digests of %s/%s: %d bytes", ErrServer, snapshot, name, buf.Len())
	}
	return buf.Bytes(), blockSize, nil
}

// sizedReaderAt is a disk's virtual content; allocation, when the reader
// knows it, spares hashing what reads as zeros.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

type allocator interface {
	Allocated(off, n int64) bool
}

// digestChanges compares the base's stored block digests with the disk's
// own (hashed on every core), then, within each differing run of blocks,
// the server's digests of 64 KiB blocks with the disk's, and returns the
// 64 KiB blocks that differ. A server that cannot give the smaller digests
// leaves the whole stored blocks changed.
func digestChanges(ctx context.Context, c *Client, base, name string, disk sizedReaderAt) ([]Change, error) {
	digests, bs, err := c.Digests(ctx, base, name)
	if err != nil {
		return nil, fmt.Errorf("block digests of base %s: %w", base, err)
	}
	size := disk.Size()
	mine, err := BlockDigests(ctx, disk, size, bs)
	if err != nil {
		return nil, err
	}
	coarse := differing(mine, digests, bs, size)
	if bs <= fineBlock || bs%fineBlock != 0 {
		return coarse, nil
	}
	var cs []Change
	for _, ch := range coarse {
		if ch.Offset >= int64(len(digests)/DigestSize)*bs {
			cs = appendChange(cs, ch) // past the base's end: all new
			continue
		}
		// At most 64 MiB a request (the server takes 256).
		for off := ch.Offset; off < ch.end(); off += 64 << 20 {
			n := min(64<<20, ch.end()-off)
			theirs, err := c.RangeDigests(ctx, base, name, fineBlock, off/fineBlock, (n+fineBlock-1)/fineBlock)
			if err != nil {
				return coarse, nil // narrowed nothing: the stored blocks go up whole
			}
			ours, err := rangeDigests(disk, off, n, fineBlock)
			if err != nil {
				return nil, err
			}
			for _, f := range differing(ours, theirs, fineBlock, n) {
				f.Offset += off
				cs = appendChange(cs, f)
			}
		}
	}
	return cs, nil
}

// differing returns the blocks of bs bytes whose digests in mine and
// theirs differ (or that theirs lacks), as changes within size, merged.
func differing(mine, theirs []byte, bs, size int64) []Change {
	var cs []Change
	for i := 0; i*DigestSize < len(mine); i++ {
		d := mine[i*DigestSize : (i+1)*DigestSize]
		if (i+1)*DigestSize <= len(theirs) && bytes.Equal(d, theirs[i*DigestSize:(i+1)*DigestSize]) {
			continue
		}
		off := int64(i) * bs
		cs = appendChange(cs, Change{Offset: off, Length: min(bs, size-off)})
	}
	return cs
}

func appendChange(cs []Change, c Change) []Change {
	if n := len(cs); n > 0 && cs[n-1].end() == c.Offset {
		cs[n-1].Length += c.Length
		return cs
	}
	return append(cs, c)
}

// rangeDigests hashes the blocks of bs bytes of [off, off+n) of r.
func rangeDigests(r io.ReaderAt, off, n, bs int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read at %d: %w", off, err)
	}
	out := make([]byte, 0, (n+bs-1)/bs*DigestSize)
	for b := int64(0); b < n; b += bs {
		s := blake3.Sum256(buf[b:min(b+bs, n)])
		out = append(out, s[:]...)
	}
	return out, nil
}

// BlockDigests hashes each block of blockSize bytes of [0, size) of r with
// BLAKE3, on GOMAXPROCS goroutines; the last block may be shorter. Blocks
// r knows to be unallocated are not read: they hash as zeros.
func BlockDigests(ctx context.Context, r io.ReaderAt, size, blockSize int64) ([]byte, error) {
	n := (size + blockSize - 1) / blockSize
	out := make([]byte, n*DigestSize)
	alloc, _ := r.(allocator)
	zeroFull := blake3.Sum256(make([]byte, blockSize))
	// Workers take runs of blocks, so that reads stay large.
	const run = 8
	next := make(chan int64)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, run*blockSize)
			for first := range next {
				off := first * blockSize
				k := min(int64(len(buf)), size-off)
				if alloc != nil && !alloc.Allocated(off, k) {
					for b := int64(0); b*blockSize < k; b++ {
						s := zeroFull
						if l := min(blockSize, k-b*blockSize); l < blockSize {
							s = blake3.Sum256(make([]byte, l))
						}
						copy(out[(first+b)*DigestSize:], s[:])
					}
					continue
				}
				if _, err := r.ReadAt(buf[:k], off); err != nil && err != io.EOF {
					select {
					case errs <- fmt.Errorf("read at %d: %w", off, err):
					default:
					}
					continue
				}
				for b := int64(0); b*blockSize < k; b++ {
					blk := buf[b*blockSize : min((b+1)*blockSize, k)]
					sum := zeroFull
					if int64(len(blk)) != blockSize || !chunk.IsZero(blk) { // zeros are checked faster than hashed
						sum = blake3.Sum256(blk)
					}
					copy(out[(first+b)*DigestSize:], sum[:])
				}
			}
		}()
	}
	var err error
feed:
	for first := int64(0); first < n; first += run {
		select {
		case next <- first:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return out, err
}
