package repo

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// saveDiskMap stores a disk map object under the BLAKE3 of its bytes. It
// is marked as being stored first, so that a prune does not delete an
// existing one it finds unreferenced under the manifest about to name it.
//
// With hold the map stays held (mapGuard) until the caller releases it,
// also when the store fails.
func (r *Repository) saveDiskMap(ctx context.Context, m *diskmap.Map, hold bool) (chunk.ID, error) {
	data, id := m.Encode()
	if hold {
		r.maps.hold(id, r.now())
	} else {
		r.maps.storing(id, r.now())
	}
	h := backend.Handle{Type: backend.TypeDiskMap, Name: id.String()}
	// The name is the content's hash: a disk map stored before (an
	// unchanged disk, an incremental with no change) is not written again.
	if fi, err := r.be.Stat(ctx, h); err == nil && fi.Size == int64(len(data)) {
		if old, err := backend.ReadAll(ctx, r.be, h); err == nil && bytes.Equal(old, data) {
			return id, nil // a damaged copy is written again
		}
	}
	if err := r.be.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
		return id, fmt.Errorf("store disk map: %w", err)
	}
	return id, nil
}

// LoadDiskMap reads a disk map object and checks it against its name.
func (r *Repository) LoadDiskMap(ctx context.Context, id chunk.ID) (*diskmap.Map, error) {
	data, err := backend.ReadAll(ctx, r.be, backend.Handle{Type: backend.TypeDiskMap, Name: id.String()})
	if err != nil {
		return nil, fmt.Errorf("load disk map %s: %w", id.Short(), err)
	}
	if chunk.Sum(data) != id {
		return nil, fmt.Errorf("load disk map %s: %w: name does not match content", id.Short(), diskmap.ErrCorrupt)
	}
	return diskmap.Decode(data)
}

// scanDiskMap calls fn for every chunk disk map id references, reading
// the object in pieces rather than whole (diskmap.ScanRefs), and checks it
// against its name. After an error wrapping diskmap.ErrCorrupt, fn may
// have seen IDs that are not the map's.
func (r *Repository) scanDiskMap(ctx context.Context, id chunk.ID, fn func(chunk.ID)) error {
	h := backend.Handle{Type: backend.TypeDiskMap, Name: id.String()}
	fi, err := r.be.Stat(ctx, h)
	if err != nil {
		return fmt.Errorf("load disk map %s: %w", id.Short(), err)
	}
	o := &objectReader{ctx: ctx, be: r.be, h: h, size: fi.Size}
	name, err := diskmap.ScanRefs(io.NewSectionReader(o, 0, fi.Size), fn)
	if err != nil {
		return fmt.Errorf("load disk map %s: %w", id.Short(), err)
	}
	if name != id {
		return fmt.Errorf("load disk map %s: %w: name does not match content", id.Short(), diskmap.ErrCorrupt)
	}
	return nil
}
