package pack

import (
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
)

// Writer assembles one pack in memory. It is not safe for concurrent use.
type Writer struct {
	buf     []byte
	entries []Entry
}

// NewWriter returns a writer with room for about sizeHint bytes.
func NewWriter(sizeHint int) *Writer {
	return &Writer{buf: make([]byte, 0, sizeHint+sizeHint/8)}
}

// Add appends a stored chunk.
func (w *Writer) Add(id chunk.ID, stored []byte, rawLen int, c chunk.Compression) Entry {
	e := Entry{ID: id, Offset: uint64(len(w.buf)), Length: uint32(len(stored)), RawLength: uint32(rawLen), Compression: c}
	w.buf = append(w.buf, stored...)
	w.entries = append(w.entries, e)
	return e
}

// AddCompress compresses raw and appends it.
func (w *Writer) AddCompress(id chunk.ID, raw []byte) Entry {
	start := len(w.buf)
	var c chunk.Compression
	w.buf, c = chunk.Compress(w.buf, raw)
	e := Entry{ID: id, Offset: uint64(start), Length: uint32(len(w.buf) - start), RawLength: uint32(len(raw)), Compression: c}
	w.entries = append(w.entries, e)
	return e
}

// Size is the number of blob bytes so far.
func (w *Writer) Size() int { return len(w.buf) }

// Count is the number of chunks so far.
func (w *Writer) Count() int { return len(w.entries) }

// Entries returns the chunks added so far.
func (w *Writer) Entries() []Entry { return w.entries }

// Finish appends the trailer and footer and returns the pack's bytes and name.
// The writer must not be used afterwards.
func (w *Writer) Finish() ([]byte, chunk.ID, error) {
	if len(w.entries) > MaxEntries {
		return nil, chunk.ID{}, fmt.Errorf("pack with %d entries: too many", len(w.entries))
	}
	start := len(w.buf)
	for _, e := range w.entries {
		var p [EntrySize]byte
		e.put(p[:])
		w.buf = append(w.buf, p[:]...)
	}
	trailer := w.buf[start:]
	f := footer{count: uint32(len(w.entries)), trailerLen: uint32(len(trailer)), sum: chunk.Sum(trailer)}
	w.buf = append(w.buf, f.bytes()...)
	return w.buf, chunk.Sum(w.buf), nil
}
