package restore

import (
	"context"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/vhd"
)

// Disk is a snapshot disk opened for a restore in one format.
type Disk struct {
	ctx      context.Context
	src      Source
	snapshot string
	name     string
	format   Format
	c        *content    // the disk's virtual content, with its parents
	size     int64       // of the output
	image    *vhd.Output // the VHD or VHDX file
	recipe   *recipe     // the original file
}

// Name is the disk's name in its snapshot.
func (d *Disk) Name() string { return d.name }

// Format is the format the disk was opened in.
func (d *Disk) Format() Format { return d.format }

// FileName names the restored file.
func (d *Disk) FileName() string { return d.format.FileName(d.name) }

// Size is the length of the restore's output.
func (d *Disk) Size() int64 { return d.size }

// VirtualSize is the size of the disk's virtual content.
func (d *Disk) VirtualSize() int64 { return d.c.Size() }

// Ranges reports whether the output can be written in ranges
// (WriteRange): it can in every format.
func (d *Disk) Ranges() bool {
	switch d.format {
	case Raw, Original, VHD, VHDX:
		return true
	}
	return false
}

// WriteTo writes the whole output to w.
func (d *Disk) WriteTo(w io.Writer) (int64, error) {
	return d.WriteRange(w, Range{0, d.size})
}

// WriteRange writes the bytes r of the output to w. The payload goes
// through the Source's ordered, read-ahead segment path whatever the
// format; a VHD's or VHDX's metadata comes from memory.
func (d *Disk) WriteRange(w io.Writer, r Range) (int64, error) {
	if !d.Ranges() {
		return 0, fmt.Errorf("%v: %w", d.format, ErrNoRanges)
	}
	if r.Off < 0 || r.Len < 0 || r.Off > d.size-r.Len {
		return 0, fmt.Errorf("range [%d,+%d) of %d bytes: %w", r.Off, r.Len, d.size, ErrBadRange)
	}
	if err := d.ctx.Err(); err != nil {
		return 0, err
	}
	switch d.format {
	case Original:
		return d.src.WriteSegments(d.ctx, w, func(emit diskmap.Emit) error { return d.originalSegments(r.Off, r.Len, emit) })
	case VHD, VHDX:
		return d.writeImageRange(w, r)
	}
	return d.src.WriteSegments(d.ctx, w, func(emit diskmap.Emit) error { return d.c.segments(r.Off, r.Len, emit) })
}

// Output reads the output (the file WriteTo writes, in the disk's format),
// where ReadAt reads the virtual content. Raw, VHD and VHDX read small
// ranges of payload through the disk's chunk cache; Original reads each
// range as WriteRange does.
func (d *Disk) Output() *io.SectionReader {
	var ra io.ReaderAt = d.c
	switch d.format {
	case Original:
		ra = readerAtFunc(d.readOriginal)
	case VHD, VHDX:
		ra = d.image
	}
	return io.NewSectionReader(ra, 0, d.size)
}

// readOriginal reads the original file at off.
func (d *Disk) readOriginal(p []byte, off int64) (int, error) {
	n := min(int64(len(p)), d.size-off)
	if off < 0 || n <= 0 {
		return 0, io.EOF
	}
	sw := &sliceWriter{p: p[:n]}
	if _, err := d.WriteRange(sw, Range{off, n}); err != nil {
		return sw.n, err
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// readerAtFunc is an io.ReaderAt of a function.
type readerAtFunc func(p []byte, off int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// ReadAt reads the disk's virtual content (whatever the format), with the
// context of Open: a guest filesystem reads the disk through it.
func (d *Disk) ReadAt(p []byte, off int64) (int, error) { return d.c.ReadAt(p, off) }

// ReadAtContext reads the disk's virtual content with ctx, for a reader
// that outlives the request that opened it.
func (d *Disk) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	return d.c.ReadAtContext(ctx, p, off)
}

// Reusable lists the disk's virtual content as extents a new disk map may
// reference as they are (an incremental disk based on this one): zero
// extents and whole chunks, sorted; parts of a parent's chunks are left
// out.
func (d *Disk) Reusable() []diskmap.Extent {
	return d.c.reusable(0, d.c.Size(), nil)
}
