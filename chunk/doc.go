// Package chunk is shadowvault's unit of deduplication.
//
// A chunk is a piece of virtual disk content (never container bytes), cut by
// content-defined chunking (restic/chunker) with the repository's polynomial
// and size limits, named by the BLAKE3-256 of its uncompressed bytes (ID),
// and stored zstd-compressed, or raw when compression does not help.
//
// All-zero regions never become chunks: IsZero lets callers turn them into
// zero extents instead.
package chunk
