package pack

import (
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
)

// Writer assembles one pack, in memory or in a file (NewFileWriter). It
// is not safe for concurrent use.
type Writer struct {
	codec   Codec
	buf     []byte
	scratch []byte // the compressed blob before sealing
	entries []Entry
	file    *spill // set for a file-backed writer; buf stays empty then
}

// NewWriter returns a writer of a plain pack with room for about sizeHint
// bytes.
func NewWriter(sizeHint int) *Writer { return Codec{}.NewWriter(sizeHint) }

// NewWriter returns a writer of a pack of this codec.
func (c Codec) NewWriter(sizeHint int) *Writer {
	return &Writer{codec: c, buf: make([]byte, 0, sizeHint+sizeHint/8)}
}

// Add appends a chunk as stored in another pack of the same codec.
func (w *Writer) Add(id chunk.ID, stored []byte, rawLen int, c chunk.Compression) Entry {
	e := Entry{ID: id, Offset: uint64(w.Size()), Length: uint32(len(stored)), RawLength: uint32(rawLen), Compression: c}
	if w.file != nil {
		w.file.write(stored)
	} else {
		w.buf = append(w.buf, stored...)
	}
	w.entries = append(w.entries, e)
	return e
}

// AddCompress compresses raw, seals it if the codec does, and appends it.
func (w *Writer) AddCompress(id chunk.ID, raw []byte) (Entry, error) {
	if w.file != nil {
		blob, scratch, c, err := w.codec.Encode(w.buf[:0], w.scratch, id, raw)
		if err != nil {
			return Entry{}, fmt.Errorf("seal chunk %s: %w", id.Short(), err)
		}
		w.buf, w.scratch = blob[:0], scratch
		return w.Add(id, blob, len(raw), c), nil
	}
	start := len(w.buf)
	buf, scratch, c, err := w.codec.Encode(w.buf, w.scratch, id, raw)
	if err != nil {
		return Entry{}, fmt.Errorf("seal chunk %s: %w", id.Short(), err)
	}
	w.buf, w.scratch = buf, scratch
	e := Entry{ID: id, Offset: uint64(start), Length: uint32(len(w.buf) - start), RawLength: uint32(len(raw)), Compression: c}
	w.entries = append(w.entries, e)
	return e, nil
}

// Size is the number of blob bytes so far.
func (w *Writer) Size() int {
	if w.file != nil {
		return int(w.file.n)
	}
	return len(w.buf)
}

// Count is the number of chunks so far.
func (w *Writer) Count() int { return len(w.entries) }

// Entries returns the chunks added so far.
func (w *Writer) Entries() []Entry { return w.entries }

// Finish appends the trailer and footer and returns the pack's bytes and name.
// The writer must not be used afterwards. A file-backed writer ends with
// FinishFile instead.
func (w *Writer) Finish() ([]byte, chunk.ID, error) {
	if w.file != nil {
		return nil, chunk.ID{}, fmt.Errorf("finish: the pack is in a file")
	}
	start := len(w.buf)
	var err error
	if w.buf, err = w.trailer(w.buf); err != nil {
		return nil, chunk.ID{}, err
	}
	w.buf = append(w.buf, w.footer(w.buf[start:])...)
	return w.buf, chunk.Sum(w.buf), nil
}

// trailer appends the (sealed) trailer of the entries to dst.
func (w *Writer) trailer(dst []byte) ([]byte, error) {
	if len(w.entries) > MaxEntries {
		return nil, fmt.Errorf("pack with %d entries: too many", len(w.entries))
	}
	plain := make([]byte, 0, len(w.entries)*EntrySize)
	for _, e := range w.entries {
		var p [EntrySize]byte
		e.put(p[:])
		plain = append(plain, p[:]...)
	}
	if w.codec.Sealer == nil {
		return append(dst, plain...), nil
	}
	out, err := w.codec.Sealer.Seal(dst, plain, trailerAAD)
	if err != nil {
		return nil, fmt.Errorf("seal pack trailer: %w", err)
	}
	return out, nil
}

// footer returns the footer that follows trailer.
func (w *Writer) footer(trailer []byte) []byte {
	f := footer{version: w.codec.version(), count: uint32(len(w.entries)), trailerLen: uint32(len(trailer)), sum: chunk.Sum(trailer)}
	return f.bytes()
}
