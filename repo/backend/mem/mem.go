// Package mem is an in-memory shadowvault backend for unit tests. It passes
// the same conformance suite as the durable backends.
package mem

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Backend keeps objects in a map.
type Backend struct {
	mu      sync.RWMutex
	objects map[backend.Handle][]byte // guarded by mu
}

var _ backend.Backend = (*Backend)(nil)

// New returns an empty backend.
func New() *Backend { return &Backend{objects: make(map[backend.Handle][]byte)} }

// Put stores a copy of the bytes of r.
func (b *Backend) Put(ctx context.Context, h backend.Handle, r io.ReadSeeker, size int64) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	b.mu.Lock()
	b.objects[h] = buf
	b.mu.Unlock()
	return nil
}

// ReadAt copies bytes out of the object.
func (b *Backend) ReadAt(ctx context.Context, h backend.Handle, p []byte, off int64) (int, error) {
	b.mu.RLock()
	data, ok := b.objects[h]
	b.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("read %s: %w", h, backend.ErrNotFound)
	}
	if off < 0 || off+int64(len(p)) > int64(len(data)) {
		return 0, fmt.Errorf("read %s [%d,+%d) of %d: %w", h, off, len(p), len(data), backend.ErrInvalidRange)
	}
	return copy(p, data[off:]), ctx.Err()
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.ObjectInfo, error) {
	b.mu.RLock()
	data, ok := b.objects[h]
	b.mu.RUnlock()
	if !ok {
		return backend.ObjectInfo{}, fmt.Errorf("stat %s: %w", h, backend.ErrNotFound)
	}
	return backend.ObjectInfo{Handle: h, Size: int64(len(data))}, nil
}

// List calls fn for each object of type t.
func (b *Backend) List(ctx context.Context, t backend.Type, fn func(backend.ObjectInfo) error) error {
	b.mu.RLock()
	var infos []backend.ObjectInfo
	for h, data := range b.objects {
		if h.Type == t {
			infos = append(infos, backend.ObjectInfo{Handle: h, Size: int64(len(data))})
		}
	}
	b.mu.RUnlock()
	for _, fi := range infos {
		if err := fn(fi); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Remove deletes the object.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	b.mu.Lock()
	delete(b.objects, h)
	b.mu.Unlock()
	return nil
}
