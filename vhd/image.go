package vhd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Image is random access to the virtual content of a container file: the
// agent's view of a disk in the shadow copy, for reading its filesystem.
type Image struct {
	f    io.ReaderAt
	info Info
	ext  []Piece // Payload pieces, by VOff
}

// OpenImage maps the container in f without reading its payload: raw and
// fixed disks directly, dynamic VHD and VHDX from their BAT, anything else
// by walking the stream once while skipping payload bytes by seeking. A
// differencing disk or a VHDX with a non-empty log cannot be mapped alone
// (ErrUnsupported).
func OpenImage(f *os.File) (*Image, error) {
	if img, ok, err := openFlat(f); ok || err != nil {
		return img, err
	}
	head := make([]byte, vhdFooterSize)
	if _, err := f.ReadAt(head, 0); err == nil {
		mapper := map[Format]func(io.ReaderAt) (*Image, error){FormatVHDX: mapVHDX, FormatVHD: mapVHD}[Detect(head)]
		if mapper != nil {
			img, err := mapper(f)
			if err == nil {
				sort.Slice(img.ext, func(i, j int) bool { return img.ext[i].VOff < img.ext[j].VOff })
			}
			if err == nil || !errors.Is(err, ErrUnsupported) {
				return img, err
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	st, err := NewStream(f, Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	img := &Image{f: f}
	for {
		p, err := st.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch p.Kind {
		case Payload:
			img.ext = append(img.ext, p)
		case Virtual:
			return nil, fmt.Errorf("%w: a VHDX with a log to replay cannot be mapped", ErrUnsupported)
		}
	}
	img.info = st.Info()
	if img.info.HasParent {
		return nil, fmt.Errorf("%w: a differencing disk needs its parent", ErrUnsupported)
	}
	sort.Slice(img.ext, func(i, j int) bool { return img.ext[i].VOff < img.ext[j].VOff })
	return img, nil
}

// Info describes the container.
func (m *Image) Info() Info { return m.info }

// Size is the virtual size.
func (m *Image) Size() int64 { return m.info.VirtualSize }

// Allocated reports whether [off, off+n) holds any payload of the file;
// false means it reads as zeros without touching the file.
func (m *Image) Allocated(off, n int64) bool {
	i := sort.Search(len(m.ext), func(i int) bool { return m.ext[i].VOff+m.ext[i].Len > off })
	return i < len(m.ext) && m.ext[i].VOff < off+n
}

// ReadAt reads virtual content: payload from the file, zeros elsewhere.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vhd image: read at %d", off)
	}
	n := int64(len(p))
	if off >= m.info.VirtualSize {
		return 0, io.EOF
	}
	if off+n > m.info.VirtualSize {
		n = m.info.VirtualSize - off
	}
	clear(p[:n])
	i := sort.Search(len(m.ext), func(i int) bool { return m.ext[i].VOff+m.ext[i].Len > off })
	for ; i < len(m.ext) && m.ext[i].VOff < off+n; i++ {
		e := m.ext[i]
		from, to := max(off, e.VOff), min(off+n, e.VOff+e.Len)
		if _, err := m.f.ReadAt(p[from-off:to-off], e.FileOff+(from-e.VOff)); err != nil {
			return int(from - off), err
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// openFlat maps a raw disk or a fixed VHD (whose payload is the file up to
// its footer) without walking it.
func openFlat(f *os.File) (*Image, bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := fi.Size()
	head := make([]byte, min(size, 512))
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, false, err
	}
	if Detect(head) != FormatRaw {
		return nil, false, nil
	}
	img := &Image{f: f, info: Info{Format: FormatRaw, Type: Fixed, VirtualSize: size, FileSize: size,
		LogicalSectorSize: 512, PhysicalSectorSize: 512}}
	if size >= vhdFooterSize {
		last := make([]byte, vhdFooterSize)
		if _, err := f.ReadAt(last, size-vhdFooterSize); err != nil {
			return nil, false, err
		}
		if ft, err := parseVHDFooter(last); err == nil && ft.diskType == vhdTypeFixed && ft.currentSize == size-vhdFooterSize {
			img.info.Format, img.info.VirtualSize, img.info.DiskID = FormatVHD, ft.currentSize, ft.uniqueID
		}
	}
	if img.info.VirtualSize > 0 {
		img.ext = []Piece{{Kind: Payload, Len: img.info.VirtualSize}}
	}
	return img, true, nil
}
