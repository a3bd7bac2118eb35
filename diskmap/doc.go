// Package diskmap is shadowvault's model of a stored disk, shared by
// ingest (which builds it), repo (which stores it), restore (which reads
// it) and guestfs and the agent (which give hints in its terms).
//
//   - Extent: a range of the virtual content, backed by one chunk (data),
//     by zeros, or by the parent disk (differencing disks).
//   - Piece: a range of the uploaded container file: container bytes
//     stored as a chunk, zeros, or a range of the virtual content. The
//     pieces laid end to end are the recipe that rebuilds the original
//     file byte for byte.
//   - Map: the extents and the recipe of one disk, with its versioned
//     encoding ("SVDM", version 1; Encode and Decode). Its name in the
//     repository is the BLAKE3 of the encoded bytes.
//   - Segment: what reading a map yields, in order: part of a chunk, or
//     zeros (VirtualSegments).
//   - Hints and Range: what a guest-aware agent says about a disk (file
//     boundaries to cut at, free ranges to store as zeros), and
//     GuestHints, what they did to the stored disk.
//   - Format and Container: the uploaded container's format and identity,
//     as the manifest records them.
//
// It depends on chunk alone.
package diskmap
