package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// RemoteDisk is a snapshot disk's virtual content read from the server in
// place: an io.ReaderAt whose reads are HTTP range requests to the raw
// restore (GET /api/v1/snapshots/{id}/disks/{name}?format=raw with
// Range: bytes=a-b, answered 206 Partial Content). Nothing is restored to
// a file. ReadAt may be called from several goroutines at once. A read of
// 128 KiB or more is one request; smaller ones are served from a cache of
// the 32 blocks of 128 KiB last read (a snapshot never changes), fetching a
// missing block whole. A request that fails with a network error is sent
// once more.
type RemoteDisk struct {
	c        *Client
	ctx      context.Context // of OpenRemoteDisk, for ReadAt
	path     string
	snapshot string
	disk     string
	size     int64
	cache    blockCache
}

// OpenRemoteDisk opens disk of snapshot for reading in place. It asks the
// server for the disk's size (a HEAD of the raw restore) and checks that
// ranges are served. ctx is bound to the RemoteDisk: ReadAt stops when it
// ends (ReadAtContext takes a context of its own).
func (c *Client) OpenRemoteDisk(ctx context.Context, snapshot, disk string) (*RemoteDisk, error) {
	d := &RemoteDisk{
		c: c, ctx: ctx, snapshot: snapshot, disk: disk,
		path: "/api/v1/snapshots/" + url.PathEscape(snapshot) + "/disks/" + url.PathEscape(disk) + "?format=raw",
	}
	var resp *http.Response
	err := retryNetwork(ctx, func() error {
		var err error
		resp, err = c.send(ctx, http.MethodHead, d.path, nil, 0, nil)
		return err
	})
	var ae *APIError
	if errors.As(err, &ae) {
		// An answer to HEAD has no body: ask with a GET of one byte for
		// the server's code and message.
		if r, gerr := c.send(ctx, http.MethodGet, d.path, nil, 0, http.Header{"Range": {"bytes=0-0"}}); gerr != nil {
			err = gerr
		} else {
			r.Body.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d, err)
	}
	resp.Body.Close()
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		return nil, fmt.Errorf("%w: open %s: the server does not answer range requests for it", ErrServer, d)
	}
	if d.size = resp.ContentLength; d.size < 0 {
		return nil, fmt.Errorf("%w: open %s: no Content-Length", ErrServer, d)
	}
	return d, nil
}

func (d *RemoteDisk) String() string { return "snapshot " + d.snapshot + " disk " + d.disk }

// Size is the disk's virtual size in bytes.
func (d *RemoteDisk) Size() int64 { return d.size }

// ReadAt reads len(p) bytes at off with the context of OpenRemoteDisk.
func (d *RemoteDisk) ReadAt(p []byte, off int64) (int, error) {
	return d.ReadAtContext(d.ctx, p, off)
}

// ReadAtContext reads len(p) bytes at off, as io.ReaderAt does: fewer
// only at the end of the disk (with io.EOF) or with an error, which wraps
// ErrNetwork, ErrServer or an *APIError.
func (d *RemoteDisk) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", d, off)
	}
	if off >= d.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), d.size-off))
	if n == 0 {
		return 0, nil
	}
	var err error
	if n >= cacheBlock {
		err = retryNetwork(ctx, func() error { return d.readRange(ctx, p[:n], off) })
	} else {
		err = d.readCached(ctx, p[:n], off)
	}
	if err != nil {
		return 0, fmt.Errorf("read %d bytes at %d of %s: %w", n, off, d, err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readCached fills p with the bytes at off from the blocks they lie in.
func (d *RemoteDisk) readCached(ctx context.Context, p []byte, off int64) error {
	for done := 0; done < len(p); {
		pos := off + int64(done)
		i := pos / cacheBlock
		start := i * cacheBlock
		b, err := d.cache.get(ctx, i, func(ctx context.Context) ([]byte, error) {
			b := make([]byte, min(cacheBlock, d.size-start))
			return b, retryNetwork(ctx, func() error { return d.readRange(ctx, b, start) })
		})
		if err != nil {
			return err
		}
		done += copy(p[done:], b[pos-start:])
	}
	return nil
}

// readRange fills p with the bytes at off, with one range request.
func (d *RemoteDisk) readRange(ctx context.Context, p []byte, off int64) error {
	last := off + int64(len(p)) - 1
	hdr := http.Header{"Range": {"bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(last, 10)}}
	resp, err := d.c.send(ctx, http.MethodGet, d.path, nil, 0, hdr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return fmt.Errorf("%w: the server answered a range request %d %s, not 206 Partial Content", ErrServer, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if got, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", off, last, d.size); got != want {
		return fmt.Errorf("%w: the server answered the range %q, want %q", ErrServer, got, want)
	}
	_, err = io.ReadFull(resp.Body, p)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		// The server ends a restore this way when it cannot read the
		// disk (a damaged or missing pack).
		return fmt.Errorf("%w: the server ended the range early: it failed while sending (see the server log)", ErrServer)
	}
	return fmt.Errorf("%w: read the range: %w", ErrNetwork, err)
}

// retryNetwork runs f, and once more if it failed with a network error.
func retryNetwork(ctx context.Context, f func() error) error {
	err := f()
	if err != nil && errors.Is(err, ErrNetwork) && ctx.Err() == nil {
		err = f()
	}
	return err
}
