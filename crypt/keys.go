package crypt

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/zeebo/blake3"
)

// KeySize is the size of the master key and of every derived key.
const KeySize = 32

// Sentinel errors; callers test with errors.Is.
var (
	// ErrAuth: a sealed blob failed authentication (tampered, truncated,
	// moved, or sealed under another key).
	ErrAuth = errors.New("authentication failed")
	// ErrWrongKey: no key slot opens with the given passphrase or key file.
	ErrWrongKey = errors.New("wrong passphrase or key file")
	// ErrFormat: bytes that are not a sealed blob or key slot of a version
	// this code knows.
	ErrFormat = errors.New("not a known encrypted format")
)

// Contexts of the keys derived from the master key. They are part of the
// repository format: changing one makes every existing repository unreadable.
const (
	contextData = "shadowvault 2026-12 data encryption key"
	contextID   = "shadowvault 2026-12 chunk id key"
)

// MasterKey is a repository's master key. It never leaves the server
// unwrapped: it is stored only inside key slots.
type MasterKey [KeySize]byte

// NewMasterKey returns a random master key.
func NewMasterKey() (MasterKey, error) {
	var k MasterKey
	if _, err := rand.Read(k[:]); err != nil {
		return MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	return k, nil
}

// Equal compares in constant time.
func (k MasterKey) Equal(o MasterKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// Keys are the working keys of an open encrypted repository.
type Keys struct {
	data [KeySize]byte // seals objects and chunks
	id   [KeySize]byte // keys the BLAKE3 of chunk IDs
}

// Derive returns the working keys of master.
func Derive(master MasterKey) *Keys {
	k := &Keys{}
	blake3.DeriveKey(contextData, master[:], k.data[:])
	blake3.DeriveKey(contextID, master[:], k.id[:])
	return k
}

// IDKey is the key of keyed-BLAKE3 chunk IDs: a chunk's ID is
// BLAKE3-keyed(IDKey, plaintext), so the ID says nothing about the content to
// anyone without the key, while equal chunks still get equal IDs.
func (k *Keys) IDKey() [KeySize]byte { return k.id }
