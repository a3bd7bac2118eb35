// Package repo is a shadowvault repository: configuration, the shared packer,
// sessions, snapshot manifests and the catalogue, retention, prune, check
// and repair, and the chunk read path that restores use.
//
// Data model (see DESIGN.md section 3; the disk model is package diskmap).
// A disk's virtual content is a disk map of extents, its container file a
// recipe of pieces. Chunks are stored compressed in packs of about 16 MiB,
// each named by the BLAKE3 of its bytes and ending in a trailer, so the
// index can be rebuilt from packs. Disk maps and snapshot manifests are
// objects in the backend too.
//
// Reading: LoadDiskMap and LoadChunk fetch single objects; WriteSegments
// writes a sequence of chunk segments in order: it plans ranged reads over
// windows of the output (chunks near each other in a pack, in any order,
// come with one request), runs several ahead, decodes and checks the
// chunks in parallel as their bytes come in, and holds a bounded amount of
// buffers, reused. Package restore walks disk maps into those segments.
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
