package guestfs

import (
	"bytes"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// indexEntry is one key of a directory index ($I30).
type indexEntry struct {
	name     string
	nameType byte // 0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS
	ref      int64
	seq      uint16
}

const (
	nameDOS       = 2
	entryLastFlag = 2
	maxIndexKeys  = 4 * MaxDirEntries // keys visited per directory, all name spaces
)

// walkIndex calls fn for each key of directory rec's $I30 index: the
// index root, then every in-use block of the index allocation. fn returns
// false to stop. The caller holds fs.mu.
func (fs *FS) walkIndex(rec *record, fn func(indexEntry) bool) error {
	roots := rec.find(attrIndexRoot, "$I30")
	if len(roots) != 1 || !roots[0].IsResident() {
		return corruptf("directory record %d: %d index roots", rec.num, len(roots))
	}
	content, err := residentContent(roots[0])
	if err != nil {
		return err
	}
	root := fs.vol.Profile.INDEX_ROOT(bytes.NewReader(content), 0)
	keys := 0
	if !fs.visitNode(root.Node(), &keys, fn) {
		return fs.keysErr(rec, keys)
	}
	if len(rec.find(attrIndexAlloc, "$I30")) == 0 {
		return nil
	}
	alloc, err := fs.openStream(rec, attrIndexAlloc, "$I30")
	if err != nil {
		return err
	}
	blockSize := int64(root.Idxalloc_size_b())
	if blockSize < 512 || blockSize > 65536 || blockSize&(blockSize-1) != 0 {
		return corruptf("directory record %d: index block size %d", rec.num, blockSize)
	}
	if alloc.size > maxIndexBytes {
		return corruptf("directory record %d: index of %d bytes", rec.num, alloc.size)
	}
	inUse, err := fs.indexBitmap(rec, alloc.size/blockSize)
	if err != nil {
		return err
	}
	reader := readerFunc(alloc.readAt)
	for i := range alloc.size / blockSize {
		if inUse[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		hdr, err := ntfs.DecodeSTANDARD_INDEX_HEADER(fs.vol, reader, i*blockSize, blockSize)
		if err != nil || !hdr.MagicNumber().IsValid() {
			return corruptf("directory record %d: index block %d: bad header", rec.num, i)
		}
		if !fs.visitNode(hdr.Node(), &keys, fn) {
			return fs.keysErr(rec, keys)
		}
	}
	return nil
}

// indexBitmap returns the $I30 bitmap of rec, which marks the index
// blocks in use, padded to hold at least blocks bits.
func (fs *FS) indexBitmap(rec *record, blocks int64) ([]byte, error) {
	if len(rec.find(attrBitmap, "$I30")) == 0 {
		return nil, corruptf("directory record %d: index allocation without bitmap", rec.num)
	}
	s, err := fs.openStream(rec, attrBitmap, "$I30")
	if err != nil {
		return nil, err
	}
	buf := make([]byte, (blocks+7)/8)
	n := min(int64(len(buf)), s.size)
	if _, err := s.readAt(buf[:n], 0); err != nil {
		return nil, err
	}
	return buf, nil
}

// visitNode calls fn for each key of one index node. It returns false
// when fn asked to stop or the directory holds too many keys.
func (fs *FS) visitNode(node *ntfs.INDEX_NODE_HEADER, keys *int, fn func(indexEntry) bool) bool {
	for _, r := range node.GetRecords(fs.vol) {
		if r.Flags()&entryLastFlag != 0 || r.SizeOfIndexEntry() < 16+66 {
			continue
		}
		if *keys++; *keys > maxIndexKeys {
			return false
		}
		f := r.File()
		e := indexEntry{
			name:     f.Name(),
			nameType: byte(f.NameType().Value),
			ref:      int64(r.MftReference()),
			seq:      r.Seq_num(),
		}
		if !fn(e) {
			return false
		}
	}
	return true
}

// keysErr explains why visitNode stopped: too many keys, or fn said so.
func (fs *FS) keysErr(rec *record, keys int) error {
	if keys > maxIndexKeys {
		return fmtErr(ErrUnsupported, "directory record %d has more than %d keys", rec.num, maxIndexKeys)
	}
	return nil
}

// readerFunc adapts a function to io.ReaderAt.
type readerFunc func(p []byte, off int64) (int, error)

func (f readerFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }
