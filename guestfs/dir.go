package guestfs

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Entry is one file or directory.
type Entry struct {
	Name  string    `json:"name"`
	Size  int64     `json:"size"`
	Dir   bool      `json:"dir"`
	MTime time.Time `json:"mtime"`
}

// List returns the entries of the directory at path, sorted by name. The
// root's metafiles ($MFT, $Bitmap, ...) and "." are left out; DOS 8.3
// aliases are not listed twice. Paths are "/"-separated and match names
// case-insensitively.
func (fs *FS) List(ctx context.Context, p string) ([]Entry, error) {
	var out []Entry
	err := fs.do(ctx, "list "+p, func() error {
		rec, _, err := fs.resolve(p)
		if err != nil {
			return err
		}
		if !rec.isDir {
			return fmt.Errorf("%s: %w", p, ErrNotDir)
		}
		out, err = fs.list(rec)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", p, err)
	}
	return out, nil
}

func (fs *FS) list(dir *record) ([]Entry, error) {
	seen := map[string]bool{}
	var keys []indexEntry
	err := fs.walkIndex(dir, func(e indexEntry) bool {
		if e.nameType == nameDOS || e.ref < firstUser || seen[e.name] {
			return true
		}
		seen[e.name] = true
		keys = append(keys, e)
		return len(keys) <= MaxDirEntries
	})
	if err != nil {
		return nil, err
	}
	if len(keys) > MaxDirEntries {
		return nil, fmtErr(ErrUnsupported, "directory has more than %d entries", MaxDirEntries)
	}
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		rec, err := fs.child(k)
		if err != nil {
			continue // a stale key, or a damaged record: skip it
		}
		out = append(out, fs.entry(k.name, rec))
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Stat returns the entry at path. The root is named "/".
func (fs *FS) Stat(ctx context.Context, p string) (Entry, error) {
	var e Entry
	err := fs.do(ctx, "stat "+p, func() error {
		rec, name, err := fs.resolve(p)
		if err == nil {
			e = fs.entry(name, rec)
		}
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("stat %q: %w", p, err)
	}
	return e, nil
}

// entry describes rec, named name. Missing attributes leave zero fields.
func (fs *FS) entry(name string, rec *record) Entry {
	e := Entry{Name: name, Dir: rec.isDir}
	if si := rec.find(attrStdInfo, ""); len(si) > 0 && si[0].IsResident() {
		if b, err := residentContent(si[0]); err == nil && len(b) >= 16 {
			e.MTime = filetime(b[8:16])
		}
	}
	if !e.Dir {
		if data := rec.find(attrData, ""); len(data) > 0 {
			e.Size = max(0, data[0].DataSize())
			for _, a := range data { // the first VCN piece holds the size
				if !a.IsResident() && a.Runlist_vcn_start() == 0 {
					e.Size = max(0, int64(a.Actual_size()))
				}
			}
		}
	}
	return e
}

// resolve walks path from the root and returns its record and the name
// it is stored under. The caller holds fs.mu.
func (fs *FS) resolve(p string) (*record, string, error) {
	rec, err := fs.record(rootRecord)
	if err != nil {
		return nil, "", err
	}
	name := "/"
	parts := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	if len(parts) > maxDepth {
		return nil, "", fmtErr(ErrNotFound, "path of %d components", len(parts))
	}
	for i, part := range parts {
		if part == "" {
			continue
		}
		if !rec.isDir {
			return nil, "", fmt.Errorf("%s: %w", strings.Join(parts[:i], "/"), ErrNotDir)
		}
		if rec, name, err = fs.lookup(rec, part); err != nil {
			return nil, "", err
		}
	}
	return rec, name, nil
}

// lookup finds name in directory dir, ignoring case and stale keys.
func (fs *FS) lookup(dir *record, name string) (*record, string, error) {
	var found *record
	var stored string
	err := fs.walkIndex(dir, func(e indexEntry) bool {
		if !strings.EqualFold(e.name, name) {
			return true
		}
		rec, err := fs.child(e)
		if err != nil {
			return true
		}
		found, stored = rec, e.name
		return false
	})
	if err != nil {
		return nil, "", err
	}
	if found == nil {
		return nil, "", fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return found, stored, nil
}

// child loads the record an index key points to, and refuses keys left
// over from a deleted file (record free, or reused with a new sequence).
func (fs *FS) child(e indexEntry) (*record, error) {
	rec, err := fs.record(e.ref)
	if err != nil {
		return nil, err
	}
	if !rec.inUse || (e.seq != 0 && rec.seq != e.seq) {
		return nil, fmt.Errorf("MFT record %d: %w: stale index key %q", e.ref, ErrNotFound, e.name)
	}
	return rec, nil
}

// filetime converts a Windows FILETIME (100 ns since 1601) to UTC.
func filetime(b []byte) time.Time {
	ft := int64(binary.LittleEndian.Uint64(b))
	if ft <= 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	t := ft - epochDiff
	return time.Unix(t/1e7, t%1e7*100).UTC()
}
