// Package sealed wraps the backend of an encrypted repository: every object
// it writes is sealed (encrypted and authenticated, bound to its handle) and
// every object it reads is opened and checked, so the rest of the
// repository code reads and writes plaintext.
//
// Packs pass through unchanged: their chunks and trailers are sealed one by
// one by the pack codec, so that a chunk can be read by range. The config
// and the key slots pass through too: they are what opens the repository.
package sealed
