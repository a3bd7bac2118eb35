// Package crypt holds the cryptography of an encrypted shadowvault
// repository: the master key and the keys derived from it, the sealed-blob
// format every stored object and chunk uses, and the key slots that wrap the
// master key under a passphrase or a key file.
//
// It depends on the standard library, golang.org/x/crypto (Argon2id) and
// zeebo/blake3 (key derivation and keyed chunk IDs), nothing of shadowvault.
//
// A sealed blob is
//
//	version (1 byte) | nonce (24 random bytes) | AES-256-GCM ciphertext and tag
//
// The first 12 bytes of the nonce derive a one-message key from the data key
// (BLAKE3 in derive-key mode), the last 12 are the GCM nonce. With a fresh
// key per message the GCM limit on random nonces under one key does not
// bound the repository's size. Every blob is bound to its place by
// additional data (a chunk's ID, an object's handle), so a blob moved or
// swapped is refused like a flipped byte.
package crypt
