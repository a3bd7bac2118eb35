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
)

// DigestSize is the size of one block digest: a BLAKE3-256.
const DigestSize = apiv1.DigestSize

// Digests fetches the block digests of disk name of a snapshot: the
// BLAKE3 of each block of blockSize bytes of its virtual content (the last
// block may be shorter).
func (c *Client) Digests(ctx context.Context, snapshot, name string) (digests []byte, blockSize int64, err error) {
	p := "/api/v1/snapshots/" + url.PathEscape(snapshot) + "/disks/" + url.PathEscape(name) + "/digests"
	resp, err := c.send(ctx, "GET", p, nil, 0, nil)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	blockSize, err = strconv.ParseInt(resp.Header.Get(apiv1.BlockSizeHeader), 10, 64)
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

// digestChanges compares the base's block digests with the disk's own,
// hashed on every core, and returns the blocks that differ.
func digestChanges(ctx context.Context, c *Client, base, name string, disk io.ReaderAt) ([]Change, error) {
	sizer, ok := disk.(interface{ Size() int64 })
	if !ok {
		return nil, fmt.Errorf("disk %s: no size", name)
	}
	digests, bs, err := c.Digests(ctx, base, name)
	if err != nil {
		return nil, fmt.Errorf("block digests of base %s: %w", base, err)
	}
	mine, err := BlockDigests(ctx, disk, sizer.Size(), bs)
	if err != nil {
		return nil, err
	}
	var cs []Change
	for i := 0; i*DigestSize < len(mine); i++ {
		d := mine[i*DigestSize : (i+1)*DigestSize]
		if (i+1)*DigestSize <= len(digests) && bytes.Equal(d, digests[i*DigestSize:(i+1)*DigestSize]) {
			continue
		}
		off := int64(i) * bs
		ch := Change{Offset: off, Length: min(bs, sizer.Size()-off)}
		if n := len(cs); n > 0 && cs[n-1].end() == ch.Offset {
			cs[n-1].Length += ch.Length
			continue
		}
		cs = append(cs, ch)
	}
	return cs, nil
}

// BlockDigests hashes each block of blockSize bytes of [0, size) of r with
// BLAKE3, on GOMAXPROCS goroutines; the last block may be shorter.
func BlockDigests(ctx context.Context, r io.ReaderAt, size, blockSize int64) ([]byte, error) {
	n := (size + blockSize - 1) / blockSize
	out := make([]byte, n*DigestSize)
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
				if _, err := r.ReadAt(buf[:k], off); err != nil && err != io.EOF {
					select {
					case errs <- fmt.Errorf("read at %d: %w", off, err):
					default:
					}
					continue
				}
				for b := int64(0); b*blockSize < k; b++ {
					sum := blake3.Sum256(buf[b*blockSize : min((b+1)*blockSize, k)])
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
