package pack

import "github.com/shadowvault/shadowvault/chunk"

// Sealer seals and opens the blobs of an encrypted repository
// (crypt.Keys satisfies it).
type Sealer interface {
	Seal(dst, plaintext, aad []byte) ([]byte, error)
	Open(dst, blob, aad []byte) ([]byte, error)
	// OpenInPlace decrypts into blob's own bytes and returns them.
	OpenInPlace(blob, aad []byte) ([]byte, error)
}

// Codec is how one repository stores blobs: the zero Codec is a plain
// repository (version 1 packs: zstd or raw blobs, a plain trailer, plain
// BLAKE3 IDs); with a Sealer every blob and the trailer are sealed
// (version 2 packs) and IDs are keyed.
type Codec struct {
	Sealer Sealer
	IDs    chunk.Hasher
}

// sealOverhead is what a Sealer adds to a blob (crypt.Overhead); the pack
// format fixes it so that a trailer's size follows from its entry count.
const sealOverhead = 1 + 24 + 16

// version is the pack format the codec writes and reads.
func (c Codec) version() uint16 {
	if c.Sealer != nil {
		return 2
	}
	return 1
}

// trailerSize is the stored size of a trailer of count entries.
func (c Codec) trailerSize(count uint32) uint64 {
	n := uint64(count) * EntrySize
	if c.Sealer != nil {
		n += sealOverhead
	}
	return n
}

// chunkAAD binds a sealed blob to its chunk ID, so that a blob put in
// another's place is refused; repack may still move it to another pack.
func chunkAAD(id chunk.ID) []byte {
	return append([]byte("shadowvault chunk\x00"), id[:]...)
}

var trailerAAD = []byte("shadowvault pack trailer")

// Encode turns raw into the blob Writer.Add stores: compressed (or raw when
// it does not compress) and, with a Sealer, sealed. tmp is scratch space
// for the compressed bytes of a sealed blob; the grown tmp is returned for
// reuse.
func (c Codec) Encode(dst, tmp []byte, id chunk.ID, raw []byte) (blob, tmpOut []byte, comp chunk.Compression, err error) {
	if c.Sealer == nil {
		blob, comp = chunk.Compress(dst, raw)
		return blob, tmp, comp, nil
	}
	tmp, comp = chunk.Compress(tmp[:0], raw)
	blob, err = c.Sealer.Seal(dst, tmp, chunkAAD(id))
	return blob, tmp, comp, err
}
