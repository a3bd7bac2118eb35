package restore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
)

// Source is where a restore reads from: the repository's disk maps and
// chunks. *repo.Repository satisfies it.
type Source interface {
	LoadDiskMap(ctx context.Context, id chunk.ID) (*diskmap.Map, error)
	LoadChunk(ctx context.Context, dst []byte, id chunk.ID) ([]byte, error)
	// WriteSegments writes the segments gen emits to w, in order,
	// fetching chunks ahead.
	WriteSegments(ctx context.Context, w io.Writer, gen func(diskmap.Emit) error) (int64, error)
}

// Errors of Open.
var (
	ErrUnknownDisk = errors.New("snapshot has no such disk")
	ErrBadFormat   = errors.New("unknown restore format")
	// ErrNoParent: a differencing disk whose parent was not stored with
	// it has no virtual content to restore (its original file does).
	ErrNoParent   = diskmap.ErrNoParent
	ErrParentLoop = errors.New("differencing chain loops or is too deep")
	ErrTooLarge   = errors.New("disk too large for the format")
	// ErrNoRanges: the format cannot be written in ranges (none today).
	ErrNoRanges = errors.New("the format is not served in ranges")
	// ErrBadRange: a range that does not lie inside the output.
	ErrBadRange = errors.New("range outside the output")
)

// maxChain bounds a differencing chain.
const maxChain = 32

// Open opens disk name of snapshot m for a restore in format f. Every read
// of the disk, whether through WriteTo, WriteRange or ReadAt, carries ctx:
// when ctx ends, the restore stops. Open reads the disk maps of the disk
// and of its parents (for every format but Original, which never reads a
// parent), and checks that the content can be produced.
func Open(ctx context.Context, src Source, m *repo.Manifest, name string, f Format) (*Disk, error) {
	if f < Raw || f > VHDX {
		return nil, fmt.Errorf("%w: %v", ErrBadFormat, f)
	}
	chain, err := chainOf(m, name)
	if err != nil {
		return nil, err
	}
	if f == Original {
		chain = chain[:1] // the recipe never reads the parent
	}
	cache := &chunkCache{}
	var top *content
	for i := len(chain) - 1; i >= 0; i-- {
		dm, err := src.LoadDiskMap(ctx, chain[i].DiskMap)
		if err != nil {
			return nil, err
		}
		top = &content{ctx: ctx, src: src, m: dm, mapID: chain[i].DiskMap, parent: top, cache: cache}
	}
	d := &Disk{ctx: ctx, src: src, snapshot: m.ID, name: name, format: f, c: top}
	if f != Original {
		if err := top.readable(); err != nil {
			return nil, err
		}
	}
	switch f {
	case Original:
		d.recipe = newRecipe(top.m)
		d.size = d.recipe.size()
	case VHD, VHDX:
		if d.image, err = newImage(f, top, imageIDs(m, name)); err != nil {
			return nil, err
		}
		d.size = d.image.Size()
	default:
		d.size = top.Size()
	}
	return d, nil
}

// chainOf returns disk name of m followed by its parents, nearest first.
func chainOf(m *repo.Manifest, name string) ([]repo.ManifestDisk, error) {
	var chain []repo.ManifestDisk
	for n := name; n != ""; {
		if len(chain) == maxChain {
			return nil, fmt.Errorf("disk %s: %w", name, ErrParentLoop)
		}
		for _, c := range chain {
			if c.Name == n {
				return nil, fmt.Errorf("disk %s: %w", name, ErrParentLoop)
			}
		}
		d, ok := m.Disk(n)
		if !ok {
			return nil, unknownDisk{snapshot: m.ID, disk: n}
		}
		chain = append(chain, d)
		n = d.Parent
	}
	return chain, nil
}

// unknownDisk is ErrUnknownDisk for one snapshot and disk name.
type unknownDisk struct{ snapshot, disk string }

func (e unknownDisk) Error() string {
	return fmt.Sprintf("snapshot %s has no disk %q", e.snapshot, e.disk)
}

func (e unknownDisk) Is(target error) bool { return target == ErrUnknownDisk }
