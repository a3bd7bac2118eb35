package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/shadowvault/shadowvault/repo/backend"
)

// Backend is a repository in a local directory.
type Backend struct {
	root string
}

var _ backend.Backend = (*Backend)(nil)

// Open uses dir as a repository directory, creating it and its type
// directories when missing, and removes temp files a crash left behind.
func Open(dir string) (*Backend, error) {
	b := &Backend{root: dir}
	for _, t := range backend.Types {
		if err := os.MkdirAll(filepath.Join(dir, string(t)), 0o700); err != nil {
			return nil, fmt.Errorf("open local repository: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("open local repository: %w", err)
	}
	b.sweepTemp()
	return b, nil
}

// Root returns the repository directory.
func (b *Backend) Root() string { return b.root }

func (b *Backend) dir(h backend.Handle) string {
	if h.Type == backend.TypePack && len(h.Name) >= 2 {
		return filepath.Join(b.root, string(h.Type), h.Name[:2])
	}
	return filepath.Join(b.root, string(h.Type))
}

func (b *Backend) path(h backend.Handle) string { return filepath.Join(b.dir(h), h.Name) }

// Put writes the object durably: temp file, write, fsync, close, rename,
// fsync of the directory.
func (b *Backend) Put(ctx context.Context, h backend.Handle, r io.ReadSeeker, size int64) (err error) {
	if err := h.Valid(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	dir := b.dir(h)
	if err := b.ensureDir(dir); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+h.Name+"-")
	if err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("put %s: rewind: %w", h, err)
	}
	n, err := io.Copy(f, &ctxReader{ctx: ctx, r: io.LimitReader(r, size)})
	if err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	if n != size {
		return fmt.Errorf("put %s: got %d bytes, want %d: %w", h, n, size, io.ErrUnexpectedEOF)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put %s: fsync: %w", h, err)
	}
	// Close, then rename: Windows does not rename open files.
	if err := f.Close(); err != nil {
		return fmt.Errorf("put %s: close: %w", h, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	if err := os.Rename(tmp, b.path(h)); err != nil {
		return fmt.Errorf("put %s: rename: %w", h, err)
	}
	// The rename is durable only once the directory entry is.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put %s: fsync dir: %w", h, err)
	}
	return nil
}

// ensureDir creates a pack shard directory and makes its entry durable.
func (b *Backend) ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// ReadAt reads from the object file.
func (b *Backend) ReadAt(ctx context.Context, h backend.Handle, p []byte, off int64) (int, error) {
	if err := h.Valid(); err != nil {
		return 0, err
	}
	f, err := os.Open(b.path(h))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", h, translate(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", h, err)
	}
	if off < 0 || off+int64(len(p)) > fi.Size() {
		return 0, fmt.Errorf("read %s [%d,+%d) of %d: %w", h, off, len(p), fi.Size(), backend.ErrInvalidRange)
	}
	n, err := f.ReadAt(p, off)
	if err != nil {
		return n, fmt.Errorf("read %s: %w", h, err)
	}
	return n, nil
}

// Stat returns the size of the object.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.ObjectInfo, error) {
	if err := h.Valid(); err != nil {
		return backend.ObjectInfo{}, err
	}
	fi, err := os.Stat(b.path(h))
	if err != nil {
		return backend.ObjectInfo{}, fmt.Errorf("stat %s: %w", h, translate(err))
	}
	return backend.ObjectInfo{Handle: h, Size: fi.Size()}, nil
}

// List walks the type directory, skipping temp files.
func (b *Backend) List(ctx context.Context, t backend.Type, fn func(backend.ObjectInfo) error) error {
	root := filepath.Join(b.root, string(t))
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while listing
			}
			return err
		}
		return fn(backend.ObjectInfo{Handle: backend.Handle{Type: t, Name: d.Name()}, Size: fi.Size()})
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Remove deletes the object; a missing one is not an error.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return err
	}
	err := os.Remove(b.path(h))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", h, err)
	}
	if err == nil {
		return syncDir(b.dir(h))
	}
	return nil
}

func (b *Backend) sweepTemp() {
	_ = filepath.WalkDir(b.root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			_ = os.Remove(path)
		}
		return nil
	})
}

func translate(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", backend.ErrNotFound, err)
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %w", backend.ErrPermission, err)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
