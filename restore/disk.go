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
	ctx    context.Context
	src    Source
	name   string
	format Format
	c      *content // the disk's virtual content, with its parents
	size   int64    // of the output
}

// outputSize is the length of the restore of c in format f.
func outputSize(f Format, c *content) (int64, error) {
	switch f {
	case Original:
		return c.m.RecipeSize(), nil
	case VHD:
		n := vhd.VHDSize(c)
		if n < 0 {
			return 0, fmt.Errorf("%w: VHD holds 2040 GiB at most, the disk has %d bytes", ErrTooLarge, c.Size())
		}
		return n, nil
	case VHDX:
		return vhd.VHDXSize(c), nil
	}
	return c.Size(), nil
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

// Ranges reports whether the output can be written in ranges (WriteRange).
func (d *Disk) Ranges() bool { return d.format == Raw }

// WriteTo writes the whole output to w.
func (d *Disk) WriteTo(w io.Writer) (int64, error) {
	switch d.format {
	case Original:
		return d.src.WriteSegments(d.ctx, w, d.originalSegments)
	case VHD:
		return vhd.WriteVHD(w, d.c, vhd.ImageIDs{})
	case VHDX:
		return vhd.WriteVHDX(w, d.c, vhd.ImageIDs{})
	}
	return d.WriteRange(w, Range{0, d.size})
}

// WriteRange writes the bytes r of the output to w.
func (d *Disk) WriteRange(w io.Writer, r Range) (int64, error) {
	if !d.Ranges() {
		return 0, fmt.Errorf("%v: %w", d.format, ErrNoRanges)
	}
	return d.src.WriteSegments(d.ctx, w, func(emit diskmap.Emit) error { return d.c.segments(r.Off, r.Len, emit) })
}

// ReadAt reads the disk's virtual content (whatever the format), with the
// context of Open: a guest filesystem reads the disk through it.
func (d *Disk) ReadAt(p []byte, off int64) (int, error) { return d.c.ReadAt(p, off) }

// ReadAtContext reads the disk's virtual content with ctx, for a reader
// that outlives the request that opened it.
func (d *Disk) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	return d.c.ReadAtContext(ctx, p, off)
}

// originalSegments emits the segments of the uploaded container file.
func (d *Disk) originalSegments(emit diskmap.Emit) error {
	for _, p := range d.c.m.Recipe {
		var err error
		switch p.Kind {
		case diskmap.PieceData:
			err = emit(diskmap.Segment{ID: p.ID, N: p.Length})
		case diskmap.PieceZero:
			err = emit(diskmap.Segment{N: p.Length})
		case diskmap.PieceVirtual:
			err = d.c.segments(p.VOffset, p.Length, emit)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Reusable lists the disk's virtual content as extents a new disk map may
// reference as they are (an incremental disk based on this one): zero
// extents and whole chunks, sorted; parts of a parent's chunks are left
// out.
func (d *Disk) Reusable() []diskmap.Extent {
	return d.c.reusable(0, d.c.Size(), nil)
}
