// Package repo is a shadowvault repository: configuration, the shared packer,
// sessions, disk maps, snapshot manifests and the read path.
//
// Data model (see DESIGN.md section 3). A disk's virtual content is a disk
// map: ordered extents that are data (one chunk each), zero or parent. The
// uploaded container file is a recipe of pieces: container bytes stored as
// chunks of their own, zeros, or ranges of the virtual content. Chunks are
// stored compressed in packs of about 16 MiB, each named by the BLAKE3 of its
// bytes and ending in a trailer, so the index can be rebuilt from packs.
// Disk maps and snapshot manifests are objects in the backend too.
//
// Durability order (DESIGN.md section 4), which this package never reorders:
//
//  1. a pack is durable in the backend before any index entry points into it;
//  2. a pack's index entries are committed in one bbolt transaction;
//  3. disk maps and the manifest are written only after every pack they
//     reference is durable;
//  4. the snapshot is committed to the index, and only then is the receipt
//     returned to the caller.
//
// A crash at any point leaves at worst unreferenced packs.
package repo
