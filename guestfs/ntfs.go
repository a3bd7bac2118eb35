package guestfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// FS is an open NTFS volume. Its methods are safe for concurrent use; they
// take turns, because go-ntfs's caches are not.
type FS struct {
	part Partition
	disk *stickyReader // the partition, remembering I/O errors
	boot bootSector

	mu    sync.Mutex // serialises every use of vol and opCtx
	vol   *ntfs.NTFSContext
	opCtx context.Context // of the operation in progress, guarded by mu
}

// bootSector holds the NTFS boot sector fields this package relies on,
// checked before go-ntfs sees the volume.
type bootSector struct {
	clusterSize int64
	clusters    int64 // volume size in clusters
	recordSize  int64 // MFT record size in bytes
	mftLCN      int64
}

const (
	pageSize  = 4096
	pageCache = 2048 // pages: an 8 MiB cache per open volume
)

// ReaderAtContext is a disk whose reads can be cancelled. When the disk
// given to OpenNTFS has this method, every read of an operation (List,
// Stat, Open and its reader, Cat, Layout) carries that operation's
// context, so a volume kept open across requests reads for each request
// with the request's context.
type ReaderAtContext interface {
	ReadAtContext(ctx context.Context, p []byte, off int64) (int, error)
}

// OpenNTFS opens the NTFS volume in partition p of the disk r. A partition
// without an NTFS boot sector is ErrUnsupported; an NTFS volume whose
// metadata cannot be read is ErrCorrupt.
func OpenNTFS(ctx context.Context, r io.ReaderAt, p Partition) (*FS, error) {
	if p.Offset < 0 || p.Size < 512 {
		return nil, fmt.Errorf("open ntfs partition %d: %w: size %d", p.Index, ErrUnsupported, p.Size)
	}
	section := io.NewSectionReader(&boundReader{ctx: ctx, r: r}, p.Offset, p.Size)
	b := make([]byte, 512)
	if err := readFull(section, b, 0); err != nil {
		return nil, fmt.Errorf("open ntfs partition %d: read boot sector: %w", p.Index, err)
	}
	boot, err := parseBoot(b, p.Size)
	if err != nil {
		return nil, fmt.Errorf("open ntfs partition %d: %w", p.Index, err)
	}
	fs := &FS{part: p, boot: boot}
	fs.disk = &stickyReader{r: io.NewSectionReader(&boundReader{ctx: ctx, r: r, fs: fs}, p.Offset, p.Size)}
	paged, err := ntfs.NewPagedReader(fs.disk, pageSize, pageCache)
	if err != nil {
		return nil, fmt.Errorf("open ntfs partition %d: %w", p.Index, err)
	}
	err = fs.do(ctx, "open", func() error {
		if err := checkMFTRecord(paged, boot); err != nil {
			return err
		}
		nctx, err := ntfs.GetNTFSContext(paged, 0)
		if err != nil {
			return corruptf("%v", err)
		}
		fs.vol = nctx
		root, err := fs.record(rootRecord)
		if err != nil {
			return err
		}
		if !root.isDir {
			return corruptf("root directory record is not a directory")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open ntfs partition %d: %w", p.Index, err)
	}
	return fs, nil
}

// parseBoot checks an NTFS boot sector against what go-ntfs can handle.
func parseBoot(b []byte, partSize int64) (bootSector, error) {
	if string(b[3:11]) != "NTFS    " || binary.LittleEndian.Uint16(b[510:]) != 0xaa55 {
		return bootSector{}, fmt.Errorf("%w: not an NTFS boot sector", ErrUnsupported)
	}
	bps := int64(binary.LittleEndian.Uint16(b[11:]))
	spc := int64(b[13])
	if bps != 512 && bps != 1024 && bps != 2048 && bps != 4096 {
		return bootSector{}, corruptf("bytes per sector %d", bps)
	}
	if spc == 0 || spc > 128 || spc&(spc-1) != 0 {
		// Encoded sizes above 128 sectors mean clusters over 64 KiB,
		// which go-ntfs does not decode.
		return bootSector{}, fmt.Errorf("%w: sectors per cluster byte %#x", ErrUnsupported, spc)
	}
	bs := bootSector{clusterSize: bps * spc}
	sectors := binary.LittleEndian.Uint64(b[40:])
	if sectors == 0 || sectors > uint64(partSize/bps) {
		return bs, corruptf("volume of %d sectors in a partition of %d bytes", sectors, partSize)
	}
	bs.clusters = int64(sectors) * bps / bs.clusterSize
	bs.mftLCN = int64(binary.LittleEndian.Uint64(b[48:]) & (1<<48 - 1))
	if bs.mftLCN == 0 || bs.mftLCN >= bs.clusters {
		return bs, corruptf("MFT at cluster %d of %d", bs.mftLCN, bs.clusters)
	}
	rs := int64(int8(b[64]))
	switch {
	case rs > 0:
		bs.recordSize = rs * bs.clusterSize
	case rs >= -31:
		bs.recordSize = 1 << -rs
	}
	if bs.recordSize < 512 || bs.recordSize > ntfs.MAX_MFT_ENTRY_SIZE || bs.recordSize&(bs.recordSize-1) != 0 {
		return bs, corruptf("MFT record size byte %#x", b[64])
	}
	return bs, nil
}

// do runs fn under the volume lock and recover. If the disk reported an
// I/O error meanwhile, that error wins over whatever go-ntfs made of it.
func (fs *FS) do(ctx context.Context, op string, fn func() error) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.opCtx = ctx
	defer func() { fs.opCtx = nil }()
	err := guard(op, fn)
	if ioErr := fs.disk.Err(); ioErr != nil && err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: read disk: %w", op, ioErr)
	}
	return err
}

// Err returns the first I/O error the volume's disk gave, if any. go-ntfs
// may have cached what it made of the failed read, so a volume that saw
// one should be opened again rather than used further.
func (fs *FS) Err() error { return fs.disk.Err() }

// boundReader reads the disk with the context of the volume's operation
// in progress (or of OpenNTFS, before the volume exists).
type boundReader struct {
	ctx context.Context
	r   io.ReaderAt
	fs  *FS // nil while opening
}

// ReadAt runs with fs.mu held by do (or during OpenNTFS).
func (b *boundReader) ReadAt(p []byte, off int64) (int, error) {
	ctx := b.ctx
	if b.fs != nil && b.fs.opCtx != nil {
		ctx = b.fs.opCtx
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if rc, ok := b.r.(ReaderAtContext); ok {
		return rc.ReadAtContext(ctx, p, off)
	}
	return b.r.ReadAt(p, off)
}

// Partition returns the partition the volume was opened from.
func (fs *FS) Partition() Partition { return fs.part }

// ClusterSize returns the volume's cluster size in bytes.
func (fs *FS) ClusterSize() int64 { return fs.boot.clusterSize }

// Close drops the volume's caches.
func (fs *FS) Close() error {
	return fs.do(context.Background(), "close", func() error {
		fs.vol.Close()
		return nil
	})
}

// checkMFTRecord looks at the $MFT's own record before go-ntfs
// bootstraps from it, because go-ntfs expands its attribute list without
// a size limit.
func checkMFTRecord(disk io.ReaderAt, boot bootSector) error {
	raw := make([]byte, boot.recordSize)
	if err := readFull(disk, raw, boot.mftLCN*boot.clusterSize); err != nil {
		return corruptf("read $MFT record: %v", err)
	}
	e, err := ntfs.GetFixedUpMFTEntry(&ntfs.NTFSContext{Profile: ntfs.NewNTFSProfile()}, bytes.NewReader(raw), 0)
	if err != nil || !e.Magic().IsValid() {
		return corruptf("$MFT record: bad signature or fixups")
	}
	for _, a := range directAttrs(e) {
		if a.Type().Value == attrList && (a.DataSize() < 0 || a.DataSize() > maxAttrListBytes) {
			return corruptf("$MFT record: attribute list of %d bytes", a.DataSize())
		}
	}
	return nil
}
