package repo

import (
	"context"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// tailSize is how much of a pack's end one read fetches: enough for the
// footer and the trailer of a pack of up to about 1300 chunks, so reading a
// trailer usually costs one request.
const tailSize = 64 << 10

// objectReader reads one backend object as an io.ReaderAt. The last bytes of
// the object are fetched once and served from memory; other reads go to the
// backend. A backend that returns fewer bytes than asked for without an
// error is asked again for the rest, so that a short read never passes for
// data.
type objectReader struct {
	ctx     context.Context
	be      backend.Backend
	h       backend.Handle
	size    int64
	tail    []byte // the object's bytes from tailOff to size
	tailOff int64
}

// openObject returns a reader of h, of the given size, with its tail loaded.
func openObject(ctx context.Context, be backend.Backend, h backend.Handle, size int64) (*objectReader, error) {
	o := &objectReader{ctx: ctx, be: be, h: h, size: size}
	n := min(size, tailSize)
	if n <= 0 {
		return o, nil
	}
	tail := make([]byte, n)
	if err := o.readFull(tail, size-n); err != nil {
		return nil, err
	}
	o.tail, o.tailOff = tail, size-n
	return o, nil
}

// ReadAt implements io.ReaderAt.
func (o *objectReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > o.size {
		return 0, fmt.Errorf("read %s [%d,+%d) of %d bytes: %w", o.h, off, len(p), o.size, io.ErrUnexpectedEOF)
	}
	if o.tail != nil && off >= o.tailOff {
		return copy(p, o.tail[off-o.tailOff:]), nil
	}
	if err := o.readFull(p, off); err != nil {
		return 0, err
	}
	return len(p), nil
}

// readFull fills p from off, asking again after a short read.
func (o *objectReader) readFull(p []byte, off int64) error {
	for len(p) > 0 {
		n, err := o.be.ReadAt(o.ctx, o.h, p, off)
		if err != nil {
			return fmt.Errorf("read %s: %w", o.h, err)
		}
		if n <= 0 {
			return fmt.Errorf("read %s at %d: no progress: %w", o.h, off, io.ErrUnexpectedEOF)
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// readPackTrailer reads and checks the trailer of the pack object fi. An
// error wrapping pack.ErrCorrupt means the pack is damaged; any other error
// means the storage could not be read.
func readPackTrailer(ctx context.Context, be backend.Backend, codec pack.Codec, fi backend.ObjectInfo) ([]pack.Entry, error) {
	o, err := openObject(ctx, be, fi.Handle, fi.Size)
	if err != nil {
		return nil, err
	}
	entries, err := codec.ReadTrailer(o, fi.Size)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", fi.Handle.Name, err)
	}
	return entries, nil
}

// readObject reads the whole object fi, asking again after short reads.
func readObject(ctx context.Context, be backend.Backend, fi backend.ObjectInfo) ([]byte, error) {
	o := &objectReader{ctx: ctx, be: be, h: fi.Handle, size: fi.Size}
	data := make([]byte, fi.Size)
	if err := o.readFull(data, 0); err != nil {
		return nil, err
	}
	return data, nil
}

// packHandle names the pack object id.
func packHandle(id chunk.ID) backend.Handle {
	return backend.Handle{Type: backend.TypePack, Name: id.String()}
}

// indexEntries converts a pack's trailer entries for the index, which
// keeps a type of its own with the same fields.
func indexEntries(es []pack.Entry) []index.Entry {
	out := make([]index.Entry, len(es))
	for i, e := range es {
		out[i] = index.Entry(e)
	}
	return out
}
