package restore

import (
	"errors"
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/vhd"
)

// newImage lays out the VHD or VHDX output of c with the identity ids.
func newImage(f Format, c *content, ids vhd.ImageIDs) (*vhd.Output, error) {
	var o *vhd.Output
	var err error
	limit := "64 TiB"
	if f == VHD {
		o, err = vhd.NewVHDOutput(c, ids)
		limit = "2040 GiB"
	} else {
		o, err = vhd.NewVHDXOutput(c, ids)
	}
	if errors.Is(err, vhd.ErrUnsupported) {
		return nil, fmt.Errorf("%w: %v holds %s at most, the disk has %d bytes", ErrTooLarge, f, limit, c.Size())
	}
	return o, err
}

// writeImageRange writes the bytes r of a VHD or VHDX output: its payload
// and zeros as segments through the Source, which fetches the chunks
// ahead, and the metadata between them (headers, BAT, sector bitmaps,
// footer) from memory, put in place by an imageWriter.
func (d *Disk) writeImageRange(w io.Writer, r Range) (int64, error) {
	iw := &imageWriter{w: w, o: d.image, pos: r.Off, end: r.Off + r.Len, partEnd: r.Off}
	_, err := d.src.WriteSegments(d.ctx, iw, func(emit diskmap.Emit) error {
		return d.image.Parts(r.Off, r.Len, func(p vhd.Part) error {
			switch {
			case p.Bytes != nil:
				return nil // the imageWriter writes it
			case p.Disk:
				return d.c.segments(p.VOff, p.N, emit)
			}
			return emit(diskmap.Segment{N: p.N})
		})
	})
	if err == nil {
		err = iw.meta() // what follows the last segment
	}
	if err == nil && iw.pos != iw.end {
		err = fmt.Errorf("%v range [%d,+%d): wrote up to %d", d.format, r.Off, r.Len, iw.pos)
	}
	return iw.n, err
}

// imageWriter writes a range of a VHD or VHDX output: Write gets the
// payload and zero parts, in order, and the imageWriter writes the
// metadata parts between them itself.
type imageWriter struct {
	w        io.Writer
	o        *vhd.Output
	pos, end int64 // the next offset of the output to write, and the end
	partEnd  int64 // the end of the payload or zero part at pos
	n        int64 // bytes written to w
}

// errPartFound stops the walk of meta at a part that is not metadata.
var errPartFound = errors.New("payload part found")

func (iw *imageWriter) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		if iw.pos >= iw.partEnd {
			if err := iw.meta(); err != nil {
				return done, err
			}
			if iw.pos >= iw.partEnd {
				return done, fmt.Errorf("output of %d bytes: %d bytes of payload past the range", iw.o.Size(), len(b)-done)
			}
		}
		k := min(int64(len(b)-done), iw.partEnd-iw.pos)
		m, err := iw.w.Write(b[done : done+int(k)])
		done += m
		iw.pos += int64(m)
		iw.n += int64(m)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// meta writes the metadata parts at pos and notes where the payload or
// zero part after them ends (pos, when there is none before the end).
func (iw *imageWriter) meta() error {
	iw.partEnd = iw.pos
	err := iw.o.Parts(iw.pos, iw.end-iw.pos, func(p vhd.Part) error {
		if p.Bytes == nil {
			iw.partEnd = p.Off + p.N
			return errPartFound
		}
		m, err := iw.w.Write(p.Bytes)
		iw.pos += int64(m)
		iw.n += int64(m)
		iw.partEnd = iw.pos
		return err
	})
	if errors.Is(err, errPartFound) {
		return nil
	}
	return err
}
