package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
)

// Container describes the uploaded container of a disk.
type Container struct {
	Type               string   `json:"type"`
	BlockSize          int64    `json:"block_size,omitempty"`
	LogicalSectorSize  int      `json:"logical_sector_size,omitempty"`
	PhysicalSectorSize int      `json:"physical_sector_size,omitempty"`
	DiskID             string   `json:"disk_id,omitempty"`
	DataWriteID        string   `json:"data_write_id,omitempty"`
	ParentID           string   `json:"parent_id,omitempty"`
	ParentLocators     []string `json:"parent_locators,omitempty"`
	HasParent          bool     `json:"has_parent,omitempty"`
	LogReplayed        bool     `json:"log_replayed,omitempty"`
}

// ErrParentLoop is returned for a differencing chain that loops or is too deep.
var ErrParentLoop = errors.New("differencing chain loops or is too deep")

// maxChain bounds a differencing chain.
const maxChain = 32

// resolveParents links each differencing disk to its parent among the disks
// of the same session, by parent ID only: a VHD child names the unique id
// in its parent's footer (Container.DiskID of a vhd), a VHDX child the
// DataWriteGuid of its parent's current header (Container.DataWriteID of a
// vhdx). Parent locators are never used: a disk of the named file may be
// another disk (or another version of it), and merging with it would
// restore wrong content without a word. A child whose parent ID names no
// uploaded disk, or several, keeps no link: its original file still
// restores, a merged restore fails with ErrNoParent. It returns those
// children.
func resolveParents(disks []*Disk) (unlinked []*Disk) {
	for _, d := range disks {
		d.Parent = ""
		if !d.Container.HasParent {
			continue
		}
		var found []*Disk
		for _, p := range disks {
			if isParent(d, p) {
				found = append(found, p)
			}
		}
		if len(found) != 1 {
			unlinked = append(unlinked, d)
			continue
		}
		d.Parent = found[0].Name
	}
	return unlinked
}

// isParent tells whether p is the disk child's parent ID names.
func isParent(child, p *Disk) bool {
	id := child.Container.ParentID
	if p == child || id == "" || p.Format != child.Format {
		return false
	}
	switch child.Format {
	case "vhd":
		return p.Container.DiskID == id
	case "vhdx":
		return p.Container.DataWriteID == id
	}
	return false
}

// OpenChain opens disk name of snapshot m together with its chain of
// parents, so that parent extents read through to them.
func (r *Repository) OpenChain(ctx context.Context, m *Manifest, name string) (*DiskReader, error) {
	var chain []string
	for n := name; n != ""; {
		if len(chain) == maxChain {
			return nil, fmt.Errorf("disk %s: %w", name, ErrParentLoop)
		}
		for _, c := range chain {
			if c == n {
				return nil, fmt.Errorf("disk %s: %w", name, ErrParentLoop)
			}
		}
		chain = append(chain, n)
		d, ok := m.Disk(n)
		if !ok {
			return nil, fmt.Errorf("snapshot %s has no disk %q: %w", m.ID, n, ErrUnknownSnapshot)
		}
		n = d.Parent
	}
	var parent *DiskReader
	for i := len(chain) - 1; i >= 0; i-- {
		d, err := r.OpenDisk(ctx, m, chain[i], parent)
		if err != nil {
			return nil, err
		}
		parent = d
	}
	return parent, nil
}

// Readable checks that the virtual content can be read: every parent extent
// has a parent disk to read from.
func (d *DiskReader) Readable() error {
	for _, e := range d.m.Extents {
		if e.Kind == chunk.ExtentParent && e.Length > 0 {
			if d.parent == nil {
				return fmt.Errorf("differencing disk: %w", ErrNoParent)
			}
			return d.parent.Readable()
		}
	}
	return nil
}
