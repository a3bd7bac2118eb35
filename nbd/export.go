package nbd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// Errors of the package.
var (
	// ErrUnknownExport: no export has the name a client asked for.
	ErrUnknownExport = errors.New("nbd: no such export")
	// ErrProtocol: the client broke the protocol (a bad magic number,
	// unknown flags, a request too large to read); the connection is
	// dropped.
	ErrProtocol = errors.New("nbd: protocol violation")
	// ErrBadExport: an Export cannot be served (no data, a negative size, a
	// name the protocol cannot carry).
	ErrBadExport = errors.New("nbd: bad export")
)

// An Export is a read-only disk offered to clients: Size bytes read from
// Data. A Size that is not a multiple of 512 is offered rounded up to the
// next one, the added bytes reading as zeros, as qemu-nbd does: qemu, as a
// client without structured replies, hangs reading an unaligned tail. Data is read from several goroutines at once (as io.ReaderAt
// allows); if it is a ContextReaderAt, it is read with ReadAtContext and a
// context that ends when the client disconnects or the server shuts down.
type Export struct {
	Name        string // what clients ask for (at most 4096 bytes of UTF-8)
	Description string // shown to people (NBD_INFO_DESCRIPTION); may be empty
	Size        int64
	Data        io.ReaderAt
}

// A ContextReaderAt is an io.ReaderAt whose reads can be cancelled.
type ContextReaderAt interface {
	ReadAtContext(ctx context.Context, p []byte, off int64) (int, error)
}

// Check reports whether e can be served.
func (e *Export) Check() error {
	switch {
	case e == nil || e.Data == nil:
		return fmt.Errorf("%w: no data", ErrBadExport)
	case e.Size < 0 || e.Size > math.MaxInt64-sectorSize:
		return fmt.Errorf("%w: %q: size %d", ErrBadExport, e.Name, e.Size)
	case len(e.Name) > maxNameLen || len(e.Description) > maxNameLen:
		return fmt.Errorf("%w: %q: name or description longer than %d bytes", ErrBadExport, e.Name, maxNameLen)
	case !utf8.ValidString(e.Name) || !utf8.ValidString(e.Description):
		return fmt.Errorf("%w: %q: name or description is not UTF-8", ErrBadExport, e.Name)
	}
	return nil
}

// Exports finds the export a client names. Lookup is called from several
// goroutines at once; the empty name asks for the default export, if there
// is one. A name that matches nothing gives an error wrapping
// ErrUnknownExport.
type Exports interface {
	Lookup(ctx context.Context, name string) (*Export, error)
}

// A Lister also enumerates its exports, for NBD_OPT_LIST. Exports that are
// not Listers answer that option NBD_REP_ERR_POLICY.
type Lister interface {
	List(ctx context.Context) ([]*Export, error)
}

// ExportList is a fixed set of exports, the first of which is the default.
type ExportList []*Export

var (
	_ Exports = ExportList(nil)
	_ Lister  = ExportList(nil)
)

// Lookup finds the export called name; the empty name, if no export has
// it, finds the first.
func (l ExportList) Lookup(_ context.Context, name string) (*Export, error) {
	for _, e := range l {
		if e.Name == name {
			return e, nil
		}
	}
	if name == "" && len(l) > 0 {
		return l[0], nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownExport, name)
}

// List returns the exports.
func (l ExportList) List(context.Context) ([]*Export, error) { return l, nil }

// sectorSize is the granularity of the size offered to clients.
const sectorSize = 512

// wireSize is the size offered to clients: Size rounded up to a sector.
func (e *Export) wireSize() int64 { return (e.Size + sectorSize - 1) &^ (sectorSize - 1) }

// readFull reads len(p) bytes of e at off (within wireSize), with ctx if
// e's data takes one; past Size, it reads zeros.
func (e *Export) readFull(ctx context.Context, p []byte, off int64) error {
	if end := off + int64(len(p)); end > e.Size {
		tail := p[max(e.Size-off, 0):]
		clear(tail)
		p = p[:len(p)-len(tail)]
		if len(p) == 0 {
			return nil
		}
	}
	var n int
	var err error
	if cr, ok := e.Data.(ContextReaderAt); ok {
		n, err = cr.ReadAtContext(ctx, p, off)
	} else {
		n, err = e.Data.ReadAt(p, off)
	}
	switch {
	case n == len(p) && (err == nil || err == io.EOF):
		return nil
	case err == nil || err == io.EOF:
		return fmt.Errorf("read %d bytes at %d of %q: got %d: %w", len(p), off, e.Name, n, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("read %d bytes at %d of %q: %w", len(p), off, e.Name, err)
}
