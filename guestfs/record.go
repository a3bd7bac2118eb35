package guestfs

import (
	"encoding/binary"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// Well-known MFT record numbers.
const (
	mftRecord    = 0
	rootRecord   = 5
	bitmapRecord = 6
	firstUser    = 16 // records below this are metafiles
)

// NTFS attribute type codes.
const (
	attrList       = 0x20
	attrStdInfo    = 0x10
	attrData       = 0x80
	attrIndexRoot  = 0x90
	attrIndexAlloc = 0xa0
	attrBitmap     = 0xb0
	attrEnd        = 0xffffffff
)

const refMask = 1<<48 - 1

// record is a parsed MFT record with its attributes, the attribute list
// already expanded.
type record struct {
	num   int64
	seq   uint16
	inUse bool
	isDir bool
	attrs []*ntfs.NTFS_ATTRIBUTE
}

// record loads MFT record num. The caller holds fs.mu.
func (fs *FS) record(num int64) (*record, error) {
	e, err := fs.vol.GetMFT(num)
	if err != nil {
		return nil, corruptf("MFT record %d: %v", num, err)
	}
	if !e.Magic().IsValid() {
		return nil, corruptf("MFT record %d: bad signature", num)
	}
	flags := e.Flags().Value
	rec := &record{num: num, seq: e.Sequence_value(), inUse: flags&1 != 0, isDir: flags&2 != 0}
	direct := directAttrs(e)
	for _, a := range direct {
		if a.Type().Value != attrList {
			rec.attrs = append(rec.attrs, a)
			continue
		}
		more, err := fs.expandList(num, a)
		if err != nil {
			return nil, err
		}
		rec.attrs = append(rec.attrs, more...)
	}
	return rec, nil
}

// directAttrs returns the attributes stored in one MFT record, without
// following an attribute list. The walk never leaves the record.
func directAttrs(e *ntfs.MFT_ENTRY) []*ntfs.NTFS_ATTRIBUTE {
	var out []*ntfs.NTFS_ATTRIBUTE
	size := int64(e.Mft_entry_size())
	for off := int64(e.Attribute_offset()); off+16 <= size; {
		a := e.Profile.NTFS_ATTRIBUTE(e.Reader, off)
		l := int64(a.Length())
		if a.Type().Value == attrEnd || l < 16 || off+l > size {
			break
		}
		out = append(out, a)
		off += l
	}
	return out
}

// expandList returns the attributes that the attribute list a of record
// base places in other (extension) records. Extension records that do not
// name base as their base record are ignored, so a list cannot pull in
// another file's attributes or loop.
func (fs *FS) expandList(base int64, a *ntfs.NTFS_ATTRIBUTE) ([]*ntfs.NTFS_ATTRIBUTE, error) {
	size := a.DataSize()
	if size < 0 || size > maxAttrListBytes {
		return nil, corruptf("MFT record %d: attribute list of %d bytes", base, size)
	}
	buf := make([]byte, size)
	if n, _ := a.Data(fs.vol).ReadAt(buf, 0); int64(n) < size {
		return nil, corruptf("MFT record %d: attribute list short read", base)
	}
	type key struct {
		ref int64
		typ uint64
		id  uint16
	}
	seen := map[key]bool{}
	var out []*ntfs.NTFS_ATTRIBUTE
	for off := 0; off+26 <= len(buf); {
		l := int(binary.LittleEndian.Uint16(buf[off+4:]))
		if l < 26 {
			return nil, corruptf("MFT record %d: attribute list entry of %d bytes", base, l)
		}
		k := key{
			typ: uint64(binary.LittleEndian.Uint32(buf[off:])),
			ref: int64(binary.LittleEndian.Uint64(buf[off+16:]) & refMask),
			id:  binary.LittleEndian.Uint16(buf[off+24:]),
		}
		off += l
		if k.ref == base || seen[k] {
			continue
		}
		seen[k] = true
		ext, err := fs.vol.GetMFT(k.ref)
		if err != nil || !ext.Magic().IsValid() || int64(ext.Base_record_reference()&refMask) != base {
			continue
		}
		if attr, err := ext.GetDirectAttribute(fs.vol, k.typ, k.id); err == nil {
			out = append(out, attr)
		}
	}
	return out, nil
}

// find returns the attributes of type typ and name, in record order.
func (rec *record) find(typ uint64, name string) []*ntfs.NTFS_ATTRIBUTE {
	var out []*ntfs.NTFS_ATTRIBUTE
	for _, a := range rec.attrs {
		if a.Type().Value == typ && a.Name() == name {
			out = append(out, a)
		}
	}
	return out
}

// residentContent returns the value of a resident attribute, which always
// lies inside its (at most 32 KiB) record.
func residentContent(a *ntfs.NTFS_ATTRIBUTE) ([]byte, error) {
	size := int64(a.Content_size())
	if size > int64(a.Length()) {
		return nil, corruptf("resident attribute of %d bytes in %d", size, a.Length())
	}
	buf := make([]byte, size)
	if n, _ := a.Reader.ReadAt(buf, a.Offset+int64(a.Content_offset())); int64(n) < size {
		return nil, corruptf("resident attribute short read")
	}
	return buf, nil
}
