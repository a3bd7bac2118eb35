package chunk

import "github.com/zeebo/blake3"

// Digest computes an ID over bytes written to it in pieces: the same ID
// Sum gives for the concatenation.
type Digest struct{ h *blake3.Hasher }

// NewDigest returns an empty digest.
func NewDigest() *Digest { return &Digest{h: blake3.New()} }

// Write adds p; it never fails.
func (d *Digest) Write(p []byte) (int, error) { return d.h.Write(p) }

// ID returns the ID of everything written so far.
func (d *Digest) ID() ID {
	var id ID
	d.h.Sum(id[:0])
	return id
}
