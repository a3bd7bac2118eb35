// Package replicate copies snapshots from one repository to another: a
// sync job. It reads a Source (a repository opened here, or a server's
// read-only replication routes over HTTP) and writes a Target (a
// repository opened here).
//
// Data model. A snapshot keeps its id, session and signed receipt: the
// target lists it under the source's id, so a second sync skips what
// arrived and a resumed sync never stores it twice. Chunk IDs differ
// between two encrypted repositories (each keys its IDs), so every chunk
// arriving is hashed again by the target and stored as the target stores
// its own (its IDs, compression and encryption, deduplicated against its
// whole index), and the disk maps, container recipes included, are
// rewritten to the target's IDs: a restore on the target gives the same
// bytes, so the stream BLAKE3 of each disk in the manifest checks there
// too. The target keeps a map of source chunk ID to its own per source
// repository (index.Alias), written with the chunk's index entry; when
// both repositories compute IDs alike (both plain, or the same key: equal
// fingerprints) the map is the identity and the target's index is asked.
//
// Order, per snapshot: the disk maps are read; the chunks the target
// lacks are fetched in batches, several in flight, checked (the target
// hashes the plaintext; a plain source's or same-keyed source's ID is
// checked against it too, and every length against the map) and stored;
// the target's packs are settled after each disk; then the target writes
// the disk maps, the manifest and the catalogue entry in the durability
// order of a backup (repo.Import). A sync killed at any point leaves
// chunks at worst, already in its map, and no snapshot.
package replicate
