package repo

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

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
// of the same session: by parent ID (VHD unique id, VHDX DataWriteGuid),
// else by the file name in a parent locator. A child whose parent was not
// uploaded keeps no link; its original file still restores.
func resolveParents(disks []*Disk) {
	for _, d := range disks {
		if !d.Container.HasParent {
			continue
		}
		for _, p := range disks {
			if p == d {
				continue
			}
			byID := d.Container.ParentID != "" &&
				(p.Container.DiskID == d.Container.ParentID && p.Format == "vhd" ||
					p.Container.DataWriteID == d.Container.ParentID)
			if byID {
				d.Parent = p.Name
				break
			}
		}
		if d.Parent != "" {
			continue
		}
		for _, loc := range d.Container.ParentLocators {
			base := path.Base(strings.ReplaceAll(loc, `\`, "/"))
			for _, p := range disks {
				if p != d && strings.EqualFold(p.Name, base) {
					d.Parent = p.Name
				}
			}
		}
	}
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
