// Package restore turns a snapshot disk back into bytes: the mirror of
// ingest.
//
// The restore path, in one read:
//
//  1. Open(ctx, src, manifest, disk, format) finds the disk in the
//     manifest, follows its parent links within the snapshot
//     (differencing disks; at most 32, no loops), loads each disk map
//     from the Source (the repository) and checks that the content can be
//     produced: a differencing disk whose parent was not stored with it
//     has no virtual content (ErrNoParent), only its original file. The
//     context given to Open is bound to the Disk: every read it makes
//     stops when the context ends.
//  2. The Disk knows the size of its output: the virtual size (Raw), the
//     recipe's length (Original), or the size of the file the vhd package
//     lays out (VHD, VHDX; a disk over 2040 GiB has no VHD: ErrTooLarge).
//     A VHD or VHDX restore is the same file every time: its GUIDs derive
//     from the snapshot ID and the disk name, the VHD time stamp is the
//     snapshot's time. ETag is a strong entity tag of the output.
//  3. WriteTo writes the output; WriteRange writes a Range of it, in every
//     format (ParseRange reads an HTTP Range header); Output reads it as
//     an io.ReaderAt.
//  4. Underneath, the disk map is walked into segments (part of a chunk,
//     or zeros; parent extents read through to the parent's map), and the
//     Source writes the segments in order, fetching the chunks ahead with
//     ranged reads planned over windows of the output and decoding them
//     in parallel (repo's WriteSegments). Original walks the recipe instead (from the piece
//     holding the range's start): container bytes stored as chunks, zero
//     runs, and ranges of the virtual content. VHD and VHDX walk the
//     vhd.Output's parts: its payload goes through the same segment path,
//     and its metadata (headers, BAT, sector bitmaps, footer), held in
//     memory, is put in between as the segments are written.
//
// A Disk is also an io.ReaderAt over the virtual content (with a small
// cache of decoded chunks for the small random reads of a filesystem
// browser), and has ReadAtContext for a reader kept open across requests:
// guestfs reads through it.
package restore
