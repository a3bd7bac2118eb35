// Package ingest turns an uploaded disk stream into a disk map (package
// diskmap), returned in a Result with the container's format and identity,
// the stream's size and BLAKE3, and what guest hints did: what the
// repository stores for the disk. The mirror path is package restore.
//
// The stream (VHD, VHDX or raw, parsed on the fly by package vhd) is read by
// one goroutine per stream. Virtual disk content is cut into content-defined
// chunks by every core (parallel.go: runs are chunked in segments by a pool
// of workers and stitched into exactly the chunks one chunker would cut);
// the chunker runs continuously across container blocks that are
// contiguous in the virtual disk and restarts (a forced cut) at every
// discontinuity and at every all-zero block, which becomes a zero extent and
// is never stored. Container bytes (headers, BAT, bitmaps, metadata) become
// the recipe: fixed-size chunks of their own, so the original file can be
// rebuilt byte for byte. A disk without content (virtual size 0: an empty
// body, or a container that says so) is refused with vhd.ErrEmptyDisk.
//
// Chunks are hashed (BLAKE3) and handed to a Saver by a pool of GOMAXPROCS
// workers. Each chunk's result goes to a slot reserved when it was cut, so
// the disk map does not depend on which worker finishes first. Memory is
// bounded by the number of chunks in flight, whatever the disk size.
package ingest
