package sealed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Sealer seals and opens blobs (crypt.Keys satisfies it).
type Sealer interface {
	Seal(dst, plaintext, aad []byte) ([]byte, error)
	Open(dst, blob, aad []byte) ([]byte, error)
}

// Overhead is what sealing adds to an object (crypt.Overhead).
const Overhead = 1 + 24 + 16

// ErrTampered is returned when a stored object fails authentication: it
// was changed, truncated, moved to another name, or written under another
// key.
var ErrTampered = errors.New("stored object failed authentication (changed, moved or written with another key)")

// Backend seals the objects of the backend it wraps.
type Backend struct {
	backend.Backend
	s Sealer
}

var _ backend.Backend = (*Backend)(nil)

// New wraps b.
func New(b backend.Backend, s Sealer) *Backend { return &Backend{Backend: b, s: s} }

// Plain reports whether objects of type t pass through unsealed.
func Plain(t backend.Type) bool {
	return t == backend.TypePack || t == backend.TypeConfig || t == backend.TypeKeys
}

func aad(h backend.Handle) []byte { return []byte("shadowvault object\x00" + h.String()) }

// Put seals the object and stores it.
func (b *Backend) Put(ctx context.Context, h backend.Handle, r io.ReadSeeker, size int64) error {
	if Plain(h.Type) {
		return b.Backend.Put(ctx, h, r, size)
	}
	plain := make([]byte, size)
	if _, err := io.ReadFull(r, plain); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	blob, err := b.s.Seal(make([]byte, 0, size+Overhead), plain, aad(h))
	if err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	return b.Backend.Put(ctx, h, bytes.NewReader(blob), int64(len(blob)))
}

// ReadAll reads, opens and checks a whole object (backend.ReadAll uses it).
func (b *Backend) ReadAll(ctx context.Context, h backend.Handle) ([]byte, error) {
	if Plain(h.Type) {
		return backend.ReadAll(ctx, b.Backend, h)
	}
	blob, err := backend.ReadAll(ctx, b.Backend, h)
	if err != nil {
		return nil, err
	}
	plain, err := b.s.Open(nil, blob, aad(h))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w: %w", h, ErrTampered, err)
	}
	return plain, nil
}

// ReadAt reads part of an object. A sealed object is read and checked
// whole first: only packs are read by range, and they pass through.
func (b *Backend) ReadAt(ctx context.Context, h backend.Handle, p []byte, off int64) (int, error) {
	if Plain(h.Type) {
		return b.Backend.ReadAt(ctx, h, p, off)
	}
	plain, err := b.ReadAll(ctx, h)
	if err != nil {
		return 0, err
	}
	if off < 0 || off+int64(len(p)) > int64(len(plain)) {
		return 0, fmt.Errorf("read %s at %d+%d of %d bytes: %w", h, off, len(p), len(plain), backend.ErrInvalidRange)
	}
	return copy(p, plain[off:]), nil
}

// Stat returns the plaintext size of the object.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.ObjectInfo, error) {
	fi, err := b.Backend.Stat(ctx, h)
	if err == nil && !Plain(h.Type) {
		fi.Size = plainSize(fi.Size)
	}
	return fi, err
}

// List lists objects with their plaintext sizes.
func (b *Backend) List(ctx context.Context, t backend.Type, fn func(backend.ObjectInfo) error) error {
	return b.Backend.List(ctx, t, func(fi backend.ObjectInfo) error {
		if !Plain(t) {
			fi.Size = plainSize(fi.Size)
		}
		return fn(fi)
	})
}

func plainSize(n int64) int64 { return max(n-Overhead, 0) }

// Unwrap returns the backend b seals.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }
