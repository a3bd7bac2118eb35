package repo

import "github.com/shadowvault/shadowvault/diskmap"

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
	case diskmap.FormatVHD:
		return p.Container.DiskID == id
	case diskmap.FormatVHDX:
		return p.Container.DataWriteID == id
	}
	return false
}
