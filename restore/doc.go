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
//     recipe's length (Original), or the size the vhd writers compute
//     (VHD, VHDX; a disk over 2040 GiB has no VHD: ErrTooLarge).
//  3. WriteTo writes the output; WriteRange writes a Range of it (Raw
//     only: ParseRange reads an HTTP Range header).
//  4. Underneath, the disk map is walked into segments (part of a chunk,
//     or zeros; parent extents read through to the parent's map), and the
//     Source writes the segments in order, fetching adjacent chunks of a
//     pack with one ranged read and several reads ahead (repo's
//     WriteSegments). Original walks the recipe instead: container bytes
//     stored as chunks, zero runs, and ranges of the virtual content. VHD
//     and VHDX restores hand the virtual content, as an io.ReaderAt with
//     an allocation map, to the vhd package's writers.
//
// A Disk is also an io.ReaderAt over the virtual content (with a small
// cache of decoded chunks for the small random reads of a filesystem
// browser), and has ReadAtContext for a reader kept open across requests:
// guestfs reads through it.
package restore
