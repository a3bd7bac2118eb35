package pack

import (
	"fmt"

	"github.com/shadowvault/shadowvault/chunk"
)

// Writer assembles one pack in memory. It is not safe for concurrent use.
type Writer struct {
	codec   Codec
	buf     []byte
	scratch []byte // the compressed blob before sealing
	entries []Entry
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
	e := Entry{ID: id, Offset: uint64(len(w.buf)), Length: uint32(len(stored)), RawLength: uint32(rawLen), Compression: c}
	w.buf = append(w.buf, stored...)
	w.entries = append(w.entries, e)
	return e
}

// AddCompress compresses raw, seals it if the codec does, and appends it.
func (w *Writer) AddCompress(id chunk.ID, raw []byte) (Entry, error) {
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
	plain := make([]byte, 0, len(w.entries)*EntrySize)
	for _, e := range w.entries {
		var p [EntrySize]byte
		e.put(p[:])
		plain = append(plain, p[:]...)
	}
	start := len(w.buf)
	if w.codec.Sealer == nil {
		w.buf = append(w.buf, plain...)
	} else {
		var err error
		if w.buf, err = w.codec.Sealer.Seal(w.buf, plain, trailerAAD); err != nil {
			return nil, chunk.ID{}, fmt.Errorf("seal pack trailer: %w", err)
		}
	}
	trailer := w.buf[start:]
	f := footer{version: w.codec.version(), count: uint32(len(w.entries)), trailerLen: uint32(len(trailer)), sum: chunk.Sum(trailer)}
	w.buf = append(w.buf, f.bytes()...)
	return w.buf, chunk.Sum(w.buf), nil
}
