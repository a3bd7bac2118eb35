package chunk

import "github.com/zeebo/blake3"

// Hasher computes chunk IDs. The zero Hasher is the plain BLAKE3-256 of a
// plain repository (Sum); an encrypted repository keys it, so an ID says
// nothing about the content to anyone without the key while equal chunks
// still get equal IDs.
type Hasher struct {
	key *[IDSize]byte
}

// KeyedHasher returns the Hasher of an encrypted repository.
func KeyedHasher(key [IDSize]byte) Hasher { return Hasher{key: &key} }

// Keyed reports whether IDs are keyed.
func (h Hasher) Keyed() bool { return h.key != nil }

// Sum returns the ID of data.
func (h Hasher) Sum(data []byte) ID {
	if h.key == nil {
		return Sum(data)
	}
	k, _ := blake3.NewKeyed(h.key[:]) // a key of IDSize bytes never fails
	_, _ = k.Write(data)
	var id ID
	k.Sum(id[:0])
	return id
}
