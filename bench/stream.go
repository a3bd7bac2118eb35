package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"io"
)

// Incompressible returns a reader of n pseudo-random bytes (AES-CTR keyed by
// seed): every stream is unique, so nothing deduplicates or compresses.
func Incompressible(seed uint64, n int64) io.Reader {
	key := make([]byte, 16)
	binary.LittleEndian.PutUint64(key, seed)
	block, _ := aes.NewCipher(key)
	s := cipher.NewCTR(block, make([]byte, aes.BlockSize))
	return io.LimitReader(&ctrReader{s: s}, n)
}

type ctrReader struct{ s cipher.Stream }

func (r *ctrReader) Read(p []byte) (int, error) {
	clear(p)
	r.s.XORKeyStream(p, p)
	return len(p), nil
}
