package pack

import (
	"fmt"
	"io"
	"sync"

	"github.com/shadowvault/shadowvault/chunk"
)

// ReadTrailer reads the trailer of a plain pack (Codec.ReadTrailer).
func ReadTrailer(r io.ReaderAt, size int64) ([]Entry, error) { return Codec{}.ReadTrailer(r, size) }

// Decode decodes a blob of a plain pack (Codec.Decode).
func Decode(dst, stored []byte, e Entry) ([]byte, error) { return Codec{}.Decode(dst, stored, e) }

// DecodeView decodes a blob of a plain pack (Codec.DecodeView).
func DecodeView(dst, stored []byte, e Entry) ([]byte, error) {
	return Codec{}.DecodeView(dst, stored, e)
}

// ReadTrailer reads and checks the footer and trailer of a pack of the given
// size, and returns its entries.
func (c Codec) ReadTrailer(r io.ReaderAt, size int64) ([]Entry, error) {
	if size < FooterSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a footer", ErrCorrupt, size)
	}
	fb := make([]byte, FooterSize)
	if _, err := r.ReadAt(fb, size-FooterSize); err != nil {
		return nil, fmt.Errorf("read pack footer: %w", err)
	}
	f, err := c.parseFooter(fb, size)
	if err != nil {
		return nil, err
	}
	trailer := make([]byte, f.trailerLen)
	tstart := size - FooterSize - int64(f.trailerLen)
	if _, err := r.ReadAt(trailer, tstart); err != nil {
		return nil, fmt.Errorf("read pack trailer: %w", err)
	}
	if chunk.Sum(trailer) != f.sum {
		return nil, fmt.Errorf("%w: trailer checksum mismatch", ErrCorrupt)
	}
	if c.Sealer != nil {
		if trailer, err = c.Sealer.Open(nil, trailer, trailerAAD); err != nil {
			return nil, fmt.Errorf("%w: trailer: %w", ErrCorrupt, err)
		}
	}
	entries := make([]Entry, f.count)
	for i := range entries {
		e := parseEntry(trailer[i*EntrySize:])
		if e.Offset+uint64(e.Length) > uint64(tstart) || (e.Compression != chunk.Raw && e.Compression != chunk.Zstd) {
			return nil, fmt.Errorf("%w: entry %d (%s) out of bounds", ErrCorrupt, i, e.ID.Short())
		}
		entries[i] = e
	}
	return entries, nil
}

// Decode turns a blob's stored bytes into raw bytes appended to dst, and
// checks them against the chunk ID (and, sealed, the blob's tag).
func (c Codec) Decode(dst, stored []byte, e Entry) ([]byte, error) {
	start := len(dst)
	if c.Sealer != nil {
		return c.openDecode(dst, stored, e)
	}
	out, err := chunk.Decompress(dst, stored, e.Compression, int(e.RawLength))
	if err != nil {
		return dst, fmt.Errorf("%w: chunk %s: %w", ErrCorrupt, e.ID.Short(), err)
	}
	if c.IDs.Sum(out[start:]) != e.ID {
		return dst, fmt.Errorf("%w: chunk %s: content does not match its ID", ErrCorrupt, e.ID.Short())
	}
	return out, nil
}

// DecodeView is Decode without copying a blob stored raw: its bytes are
// checked in place and returned as a slice of stored. A compressed blob
// is decoded into the capacity of dst (more is allocated only if the
// blob decodes to more than that) and checked there. Either way the
// result matches the chunk ID, or an error is returned. A sealed raw blob
// is opened in place: stored is overwritten, and the result is a slice
// of it.
func (c Codec) DecodeView(dst, stored []byte, e Entry) ([]byte, error) {
	if e.Compression != chunk.Raw {
		return c.Decode(dst[:0], stored, e)
	}
	if c.Sealer != nil {
		plain, err := c.Sealer.OpenInPlace(stored, chunkAAD(e.ID))
		if err != nil {
			return nil, fmt.Errorf("%w: chunk %s: %w", ErrCorrupt, e.ID.Short(), err)
		}
		stored = plain
	}
	if len(stored) != int(e.RawLength) {
		return nil, fmt.Errorf("%w: chunk %s: %d raw bytes stored, want %d", ErrCorrupt, e.ID.Short(), len(stored), e.RawLength)
	}
	if c.IDs.Sum(stored) != e.ID {
		return nil, fmt.Errorf("%w: chunk %s: content does not match its ID", ErrCorrupt, e.ID.Short())
	}
	return stored, nil
}

// openDecode is Decode of a sealed blob: a raw blob opens straight into
// dst, a compressed one through a pooled buffer.
func (c Codec) openDecode(dst, stored []byte, e Entry) ([]byte, error) {
	start := len(dst)
	var out []byte
	if e.Compression == chunk.Raw {
		var err error
		if out, err = c.Sealer.Open(dst, stored, chunkAAD(e.ID)); err != nil {
			return dst, fmt.Errorf("%w: chunk %s: %w", ErrCorrupt, e.ID.Short(), err)
		}
		if len(out)-start != int(e.RawLength) {
			return dst, fmt.Errorf("%w: chunk %s: %d raw bytes stored, want %d", ErrCorrupt, e.ID.Short(), len(out)-start, e.RawLength)
		}
	} else {
		bp := openBufs.Get().(*[]byte)
		defer openBufs.Put(bp)
		open, err := c.Sealer.Open((*bp)[:0], stored, chunkAAD(e.ID))
		if err != nil {
			return dst, fmt.Errorf("%w: chunk %s: %w", ErrCorrupt, e.ID.Short(), err)
		}
		*bp = open
		if out, err = chunk.Decompress(dst, open, e.Compression, int(e.RawLength)); err != nil {
			return dst, fmt.Errorf("%w: chunk %s: %w", ErrCorrupt, e.ID.Short(), err)
		}
	}
	if c.IDs.Sum(out[start:]) != e.ID {
		return dst, fmt.Errorf("%w: chunk %s: content does not match its ID", ErrCorrupt, e.ID.Short())
	}
	return out, nil
}

// openBufs hold opened compressed blobs on their way to the decompressor.
var openBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256<<10); return &b }}
