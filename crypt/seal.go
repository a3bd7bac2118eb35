package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/zeebo/blake3"
)

// Sealed-blob layout; see the package documentation.
const (
	blobVersion = 1
	nonceSize   = 24
	tagSize     = 16
	// Overhead is what sealing adds to a plaintext.
	Overhead = 1 + nonceSize + tagSize
)

// Seal encrypts and authenticates plaintext bound to aad, appending the
// sealed blob to dst. aad is not stored: Open must be given the same.
func (k *Keys) Seal(dst, plaintext, aad []byte) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := k.messageAEAD(nonce[:12])
	if err != nil {
		return nil, err
	}
	dst = append(dst, blobVersion)
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[12:], plaintext, aad), nil
}

// Open checks and decrypts a sealed blob, appending the plaintext to dst.
// Any change to the blob, or another aad, gives ErrAuth.
func (k *Keys) Open(dst, blob, aad []byte) ([]byte, error) {
	if len(blob) < Overhead {
		return nil, fmt.Errorf("open: %d bytes is too short for a sealed blob: %w", len(blob), ErrAuth)
	}
	if blob[0] != blobVersion {
		return nil, fmt.Errorf("open: sealed blob version %d: %w", blob[0], ErrFormat)
	}
	nonce := blob[1 : 1+nonceSize]
	aead, err := k.messageAEAD(nonce[:12])
	if err != nil {
		return nil, err
	}
	out, err := aead.Open(dst, nonce[12:], blob[1+nonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrAuth)
	}
	return out, nil
}

// OpenInPlace is Open that decrypts into the blob's own bytes: the
// plaintext is returned as a slice of blob, which is overwritten (also on
// failure).
func (k *Keys) OpenInPlace(blob, aad []byte) ([]byte, error) {
	if len(blob) < Overhead {
		return nil, fmt.Errorf("open: %d bytes is too short for a sealed blob: %w", len(blob), ErrAuth)
	}
	ct := blob[1+nonceSize:]
	return k.Open(ct[:0], blob, aad)
}

// PlainSize is the plaintext size of a sealed blob of n bytes.
func PlainSize(n int) int { return max(n-Overhead, 0) }

// messageAEAD is AES-256-GCM under the one-message key derived from the
// data key and salt.
func (k *Keys) messageAEAD(salt []byte) (cipher.AEAD, error) {
	h, err := blake3.NewKeyed(k.data[:])
	if err != nil {
		return nil, err
	}
	_, _ = h.Write(salt)
	var mk [KeySize]byte
	h.Sum(mk[:0])
	block, err := aes.NewCipher(mk[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
