package pack

import (
	"fmt"
	"io"

	"github.com/shadowvault/shadowvault/chunk"
)

// ReadTrailer reads and checks the footer and trailer of a pack of the given
// size, and returns its entries.
func ReadTrailer(r io.ReaderAt, size int64) ([]Entry, error) {
	if size < FooterSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a footer", ErrCorrupt, size)
	}
	fb := make([]byte, FooterSize)
	if _, err := r.ReadAt(fb, size-FooterSize); err != nil {
		return nil, fmt.Errorf("read pack footer: %w", err)
	}
	f, err := parseFooter(fb, size)
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
// checks them against the chunk ID.
func Decode(dst, stored []byte, e Entry) ([]byte, error) {
	start := len(dst)
	out, err := chunk.Decompress(dst, stored, e.Compression, int(e.RawLength))
	if err != nil {
		return dst, fmt.Errorf("%w: chunk %s: %w", ErrCorrupt, e.ID.Short(), err)
	}
	if chunk.Sum(out[start:]) != e.ID {
		return dst, fmt.Errorf("%w: chunk %s: content does not match its ID", ErrCorrupt, e.ID.Short())
	}
	return out, nil
}

// DecodeView is Decode without copying a blob stored raw: its bytes are
// checked in place and returned as a slice of stored. A compressed blob
// is decoded into the capacity of dst (more is allocated only if the
// blob decodes to more than that) and checked there. Either way the
// result matches the chunk ID, or an error is returned.
func DecodeView(dst, stored []byte, e Entry) ([]byte, error) {
	if e.Compression != chunk.Raw {
		return Decode(dst[:0], stored, e)
	}
	if len(stored) != int(e.RawLength) {
		return nil, fmt.Errorf("%w: chunk %s: %d raw bytes stored, want %d", ErrCorrupt, e.ID.Short(), len(stored), e.RawLength)
	}
	if chunk.Sum(stored) != e.ID {
		return nil, fmt.Errorf("%w: chunk %s: content does not match its ID", ErrCorrupt, e.ID.Short())
	}
	return stored, nil
}
