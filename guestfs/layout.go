package guestfs

import (
	"context"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
)

// Layout holds the hints for guest-aware ingest of one NTFS volume, in
// disk byte offsets (partition offset plus cluster offset), sorted.
type Layout struct {
	ClusterSize int64 `json:"cluster_size"`
	// FileBoundaries holds the first byte and the end of every run of
	// clusters of every file data stream: where chunk cuts help dedup.
	FileBoundaries []int64 `json:"file_boundaries"`
	// Free holds the clusters $Bitmap marks free, minus any cluster an
	// in-use MFT record claims, merged.
	Free []diskmap.Range `json:"free"`
	// Volatile holds the clusters of /pagefile.sys, /hiberfil.sys and
	// /swapfile.sys, merged.
	Volatile []diskmap.Range `json:"volatile"`
	// Truncated says a limit was reached: the hints are incomplete (fewer
	// boundaries, less free space) but never wrong.
	Truncated bool `json:"truncated,omitempty"`
}

// maxLayoutItems caps each list of a Layout (about 256 MiB at most).
const maxLayoutItems = 1 << 24

var volatileFiles = []string{"pagefile.sys", "hiberfil.sys", "swapfile.sys"}

// Layout walks the MFT and $Bitmap and returns the volume's hints. Memory
// stays proportional to the number of runs on the volume, capped by
// maxLayoutItems; MFT records that cannot be parsed are skipped.
func (fs *FS) Layout(ctx context.Context) (*Layout, error) {
	l := &Layout{ClusterSize: fs.boot.clusterSize}
	c := &collector{}
	if err := fs.walkMFT(ctx, c); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	free, truncated, err := fs.freeRanges(ctx)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	used := diskmap.MergeRanges(c.used)
	l.FileBoundaries = sortedSet(c.boundaries)
	l.Truncated = truncated || c.overflow
	if !c.overflow {
		// Without every used run a corrupt bitmap could free file data.
		l.Free = diskmap.SubtractRanges(free, used)
	}
	if l.Volatile, err = fs.volatile(ctx); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	return l, nil
}

// volatile returns the clusters of the page, hibernation and swap files
// in the root directory.
func (fs *FS) volatile(ctx context.Context) ([]diskmap.Range, error) {
	var out []diskmap.Range
	for _, name := range volatileFiles {
		err := fs.do(ctx, "layout: "+name, func() error {
			rec, _, err := fs.resolve(name)
			if err != nil || rec.isDir || len(rec.find(attrData, "")) == 0 {
				return err
			}
			s, err := fs.openStream(rec, attrData, "")
			if err != nil {
				return err
			}
			for _, e := range s.runs {
				if r, ok := fs.diskRange(e); ok {
					out = append(out, r)
				}
			}
			return nil
		})
		if err != nil && !isFSError(err) {
			return nil, err // an I/O error of the disk
		}
	}
	return diskmap.MergeRanges(out), nil
}

// isFSError reports whether err is about the filesystem's content rather
// than about reading the disk.
func isFSError(err error) bool {
	for _, e := range []error{ErrNotFound, ErrNotDir, ErrIsDir, ErrCorrupt, ErrUnsupported} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// diskRange converts a run to disk bytes; sparse runs and runs outside
// the volume have none.
func (fs *FS) diskRange(e extent) (diskmap.Range, bool) {
	if e.sparse || e.lcn < 0 || e.length <= 0 || e.lcn > fs.boot.clusters-e.length {
		return diskmap.Range{}, false
	}
	cs := fs.boot.clusterSize
	return diskmap.Range{Off: fs.part.Offset + e.lcn*cs, Len: e.length * cs}, true
}

// collector gathers used runs and data boundaries, merging as it goes so
// that memory follows the number of distinct runs.
type collector struct {
	used       []diskmap.Range
	boundaries []int64
	nextMerge  int
	overflow   bool
}

func (c *collector) add(r diskmap.Range, data bool) {
	if c.overflow {
		return
	}
	c.used = append(c.used, r)
	if data {
		c.boundaries = append(c.boundaries, r.Off, r.End())
	}
	if len(c.used)+len(c.boundaries) < c.nextMerge {
		return
	}
	c.used = diskmap.MergeRanges(c.used)
	c.boundaries = sortedSet(c.boundaries)
	c.nextMerge = max(1<<16, 2*(len(c.used)+len(c.boundaries)))
	if len(c.used) > maxLayoutItems || len(c.boundaries) > maxLayoutItems {
		c.overflow = true
	}
}
