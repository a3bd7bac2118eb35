package vhd

import (
	"fmt"
	"io"
	"sort"
)

// LayoutVersion names the layout of the files NewVHDOutput and
// NewVHDXOutput build. It changes whenever the bytes written for the same
// disk and ids change, so that a cache key or an HTTP entity tag that
// includes it changes with them.
const LayoutVersion = 1

// Output is a VHD or VHDX file written from a Disk, as random access: its
// metadata (headers, BAT, sector bitmaps, footer) is kept in memory, at
// most a few bytes per block of the disk, and the payload is read from the
// Disk when asked for. WriteVHD and WriteVHDX stream the same bytes.
//
// The file is a metadata area, a data area of one unit per allocated
// block (the block's prefix, such as a VHD sector bitmap, and its data)
// and a trailing metadata area.
type Output struct {
	d       Disk
	size    int64
	meta    []span   // the metadata areas, by offset, all but [dataOff, dataEnd)
	dataOff int64    // where the data area starts
	dataEnd int64    // and ends
	unit    int64    // output bytes per allocated block
	prefix  []byte   // at the start of each unit
	bs      int64    // virtual bytes per block
	blocks  []uint32 // the allocated blocks, in file order
}

// A span is a run of metadata: bytes, or zeros when b is nil.
type span struct {
	off, n int64
	b      []byte
}

// A Part is a run of an output file of one kind: bytes of the file's own
// metadata (Bytes), the disk's virtual content (Disk, at VOff), or zeros.
type Part struct {
	Off   int64  // where the part starts in the output
	N     int64  // its length
	Bytes []byte // the metadata bytes, or nil
	Disk  bool   // the part is the virtual content [VOff, VOff+N)
	VOff  int64
}

// Zero reports whether the part is zeros.
func (p Part) Zero() bool { return p.Bytes == nil && !p.Disk }

// Size is the length of the file.
func (o *Output) Size() int64 { return o.size }

// Parts calls fn with the parts of [off, off+n) of the file, in order,
// cut to the range. An error of fn stops the walk and is returned.
func (o *Output) Parts(off, n int64, fn func(Part) error) error {
	if off < 0 || n < 0 || off > o.size-n {
		return fmt.Errorf("vhd: parts of [%d,+%d) of a %d byte file: %w", off, n, o.size, io.ErrUnexpectedEOF)
	}
	for end := off + n; off < end; {
		p := o.partAt(off).cut(off, end)
		if err := fn(p); err != nil {
			return err
		}
		off += p.N
	}
	return nil
}

// partAt returns the whole part that holds file offset off.
func (o *Output) partAt(off int64) Part {
	if off < o.dataOff || off >= o.dataEnd {
		i := sort.Search(len(o.meta), func(i int) bool { return o.meta[i].off+o.meta[i].n > off })
		s := o.meta[i]
		return Part{Off: s.off, N: s.n, Bytes: s.b}
	}
	k := (off - o.dataOff) / o.unit
	u := o.dataOff + k*o.unit
	if pl := int64(len(o.prefix)); off < u+pl {
		return Part{Off: u, N: pl, Bytes: o.prefix}
	}
	u += int64(len(o.prefix))
	v := int64(o.blocks[k]) * o.bs
	in := min(o.bs, o.d.Size()-v)
	if off < u+in {
		return Part{Off: u, N: in, Disk: true, VOff: v}
	}
	return Part{Off: u + in, N: o.bs - in}
}

// cut cuts p to [off, end), where p holds off.
func (p Part) cut(off, end int64) Part {
	skip := off - p.Off
	p.Off, p.N = off, min(p.N-skip, end-off)
	if p.Bytes != nil {
		p.Bytes = p.Bytes[skip : skip+p.N]
	}
	if p.Disk {
		p.VOff += skip
	}
	return p
}

// ReadAt reads the file: metadata from memory, payload from the Disk.
func (o *Output) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vhd: read at %d: negative offset", off)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), o.size-off)
	pos := 0
	err := o.Parts(off, n, func(pt Part) error {
		b := p[pos : pos+int(pt.N)]
		switch {
		case pt.Bytes != nil:
			copy(b, pt.Bytes)
		case pt.Disk:
			if err := readFull(o.d, b, pt.VOff); err != nil {
				return err
			}
		default:
			clear(b)
		}
		pos += len(b)
		return nil
	})
	if err != nil {
		return pos, err
	}
	if n < int64(len(p)) {
		return pos, io.EOF
	}
	return pos, nil
}

// WriteTo writes the whole file to w, reading the payload in steps of
// 4 MiB. It returns the bytes written.
func (o *Output) WriteTo(w io.Writer) (int64, error) {
	c := &countWriter{w: w}
	var buf []byte
	err := o.Parts(0, o.size, func(p Part) error {
		switch {
		case p.Bytes != nil:
			c.Write(p.Bytes)
		case p.Disk:
			if buf == nil {
				buf = make([]byte, 4*mib)
			}
			for off, end := p.VOff, p.VOff+p.N; off < end && c.err == nil; {
				b := buf[:min(end-off, int64(len(buf)))]
				if err := readFull(o.d, b, off); err != nil {
					return err
				}
				c.Write(b)
				off += int64(len(b))
			}
		default:
			c.zeroFill(p.N)
		}
		return c.err
	})
	return c.n, err
}

// readFull fills b from d at off, inside the disk.
func readFull(d Disk, b []byte, off int64) error {
	k, err := d.ReadAt(b, off)
	if k == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("vhd: read disk at %d: %w", off, err)
}
