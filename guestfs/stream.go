package guestfs

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// extent is one data run of a stream, in clusters. Sparse runs have no
// clusters on disk.
type extent struct {
	lcn, length int64
	sparse      bool
}

// stream is one attribute's value: resident bytes, or runs of clusters
// read through go-ntfs's run readers.
type stream struct {
	size     int64       // logical size
	initSize int64       // bytes past initSize read as zeros
	r        io.ReaderAt // reads [0, initSize)
	runs     []extent    // nil for resident streams
}

// openStream joins the pieces (one per VCN range) of the attribute typ
// named name of rec into one stream. The caller holds fs.mu.
func (fs *FS) openStream(rec *record, typ uint64, name string) (*stream, error) {
	attrs := rec.find(typ, name)
	if len(attrs) == 0 {
		return nil, fmt.Errorf("MFT record %d: attribute %#x %q: %w", rec.num, typ, name, ErrNotFound)
	}
	if attrs[0].IsResident() {
		if len(attrs) != 1 {
			return nil, corruptf("MFT record %d: resident attribute in %d pieces", rec.num, len(attrs))
		}
		b, err := residentContent(attrs[0])
		if err != nil {
			return nil, err
		}
		return &stream{size: int64(len(b)), initSize: int64(len(b)), r: bytes.NewReader(b)}, nil
	}
	slices.SortFunc(attrs, func(a, b *ntfs.NTFS_ATTRIBUTE) int {
		return cmpUint(a.Runlist_vcn_start(), b.Runlist_vcn_start())
	})
	first := attrs[0]
	var runs []*ntfs.Run
	next := uint64(0)
	for _, a := range attrs {
		start, end := a.Runlist_vcn_start(), a.Runlist_vcn_end()
		if a.IsResident() || start != next {
			return nil, corruptf("MFT record %d: data pieces do not join at VCN %d", rec.num, next)
		}
		if end == math.MaxUint64 && start == 0 && len(attrs) == 1 {
			break // an empty non-resident value
		}
		if end < start || end-start >= math.MaxInt64/uint64(fs.boot.clusterSize) {
			return nil, corruptf("MFT record %d: VCN range %d-%d", rec.num, start, end)
		}
		var sum uint64
		for _, r := range a.RunList() {
			if r.Length <= 0 {
				return nil, corruptf("MFT record %d: run of %d clusters", rec.num, r.Length)
			}
			if r.RelativeUrnOffset != 0 && (r.Offset < 0 || r.Offset > fs.boot.clusters-r.Length) {
				return nil, corruptf("MFT record %d: run at cluster %d outside the volume", rec.num, r.Offset)
			}
			sum += uint64(r.Length)
			runs = append(runs, r)
		}
		if sum != end-start+1 || len(runs) > maxRuns {
			return nil, corruptf("MFT record %d: runs cover %d clusters of VCN %d-%d", rec.num, sum, start, end)
		}
		next = end + 1
	}
	s := &stream{size: int64(first.Actual_size()), initSize: int64(first.Initialized_size())}
	alloc := int64(next) * fs.boot.clusterSize
	if s.size < 0 || s.size > alloc || s.initSize < 0 || s.initSize > s.size {
		return nil, corruptf("MFT record %d: size %d, initialized %d, allocated %d", rec.num, s.size, s.initSize, alloc)
	}
	for _, r := range runs {
		s.runs = append(s.runs, extent{lcn: r.Offset, length: r.Length, sparse: r.RelativeUrnOffset == 0})
	}
	flags := first.Flags()
	switch {
	case uint64(*flags)&0x4000 != 0:
		return nil, fmt.Errorf("MFT record %d: %w: encrypted data", rec.num, ErrUnsupported)
	case ntfs.IsCompressed(flags):
		// Windows compresses only with 4 KiB clusters or smaller and
		// 16-cluster units; anything else is not worth trusting.
		if first.Compression_unit_size() != 4 || fs.boot.clusterSize > 4096 {
			return nil, fmt.Errorf("MFT record %d: %w: compression unit 2^%d clusters of %d bytes",
				rec.num, ErrUnsupported, first.Compression_unit_size(), fs.boot.clusterSize)
		}
		s.r = ntfs.NewCompressedRangeReader(runs, fs.boot.clusterSize, fs.vol.DiskReader, 16)
	default:
		s.r = ntfs.NewUncompressedRangeReader(runs, fs.boot.clusterSize, fs.vol.DiskReader, ntfs.IsSparse(flags))
	}
	return s, nil
}

// readAt reads the stream like io.ReaderAt. Bytes past the initialized
// size are zeros; runs that end before it are corruption. The caller
// holds fs.mu.
func (s *stream) readAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at %d: negative offset", off)
	}
	if off >= s.size {
		return 0, io.EOF
	}
	want := int(min(int64(len(p)), s.size-off))
	init := int(max(0, min(int64(want), s.initSize-off)))
	for got := 0; got < init; {
		n, err := s.r.ReadAt(p[got:init], off+int64(got))
		got += n
		if n == 0 {
			if err == nil || err == io.EOF {
				return got, corruptf("data runs end at byte %d of %d", off+int64(got), s.initSize)
			}
			return got, err
		}
	}
	clear(p[init:want])
	if want < len(p) {
		return want, io.EOF
	}
	return want, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
