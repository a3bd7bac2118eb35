// Package vhd stream-parses virtual disk containers (VHD, VHDX and raw
// disks) and writes VHD and VHDX files. It uses the standard library only.
//
// # Parsing
//
// NewStream reads a container from an io.Reader (an HTTP body: not
// seekable) and Stream.Next cuts it into Pieces:
//
//   - Meta: container bytes that are not virtual content (headers, footers,
//     BAT, sector bitmaps, metadata region, log, padding, and the file bytes
//     of sectors that are not virtual content);
//   - Payload: file bytes that are the virtual content at VOff;
//   - Virtual: virtual content not found at its place in the file (a VHDX log
//     replayed over a block); its bytes come from Stream.Read;
//   - Zero: a virtual range that is explicitly zero (no bytes).
//
// Meta and Payload pieces come in file order and cover the file exactly, so
// concatenating their bytes gives back the uploaded file byte for byte: this
// is the "container recipe" of the data model. Payload, Virtual and Zero
// pieces never overlap in virtual space and lie inside [0, VirtualSize);
// virtual offsets covered by none of them are zero, or come from the parent
// when Info.HasParent. Adjacent pieces of one kind may be contiguous (a raw
// stream comes in 4 MiB Payload pieces); callers merge them into extents.
// Zero pieces are emitted first, as soon as the BAT is known; the rest
// follows the file. The bytes of one block may be split into several pieces
// by its sector bitmap.
//
// The stream is read once. Headers and BAT are parsed from a read-ahead
// window kept in memory (8 MiB, plus at most 8 MiB of BAT); when the layout
// needs bytes further ahead (metadata after the payload, a sector bitmap
// after the blocks it describes, a BAT of more than 1M entries), the window
// moves to an unlinked temporary file in Options.SpillDir, bounded by
// Options.SpillLimit (ErrSpillLimit). Smaller layouts written by qemu-img
// and Hyper-V go through without spilling. A VHDX BAT is kept packed, 4
// bytes an entry; a container whose BAT would need more than
// Options.MetadataLimit (64 MiB) is refused (ErrMetadataLimit), so that an
// upload's metadata memory is bounded whatever the client sends. A VHDX
// log is replayed in time linear in its size, and Options.Context stops
// the parse when the upload ends.
//
// Formats:
//
//   - raw: all Payload with VOff == FileOff. The last 512 bytes are held back:
//     a valid fixed-VHD footer there (cookie, checksum, type fixed, current
//     size == file size - 512) makes the stream a fixed VHD, whose footer is
//     Meta. Forcing FormatRaw turns this off; forcing FormatVHD requires it.
//   - VHD (dynamic, differencing): footer copy and dynamic header checksums,
//     the footer's current size (never CHS), 0xFFFFFFFF BAT entries as Zero
//     (dynamic) or parent (differencing). MSB-first sector bitmaps: in a
//     differencing disk a clear bit leaves the sector to the parent (its
//     file bytes are Meta); in a dynamic disk a clear bit reads as zero.
//     Parent locators W2ku, W2ru (UTF-16LE), MacX, Wi2r, Wi2k (bytes) and the
//     parent's Unicode name are listed in Info.ParentLocators; "Mac " alias
//     records are not decoded. The trailing footer must be valid.
//   - VHDX: file identifier, both headers (CRC-32C; the valid one with the
//     higher sequence number), region tables, metadata (file parameters,
//     sizes, disk id, parent locator) and the BAT with its sector bitmap
//     entries. NOT_PRESENT and UNDEFINED blocks are Zero without a parent
//     and left to the parent otherwise; ZERO and UNMAPPED are always Zero;
//     PARTIALLY_PRESENT uses the LSB-first sector bitmap. A fixed VHDX
//     (LeaveBlockAllocated) reports Type Fixed and keeps its BlockSize.
//     Info.ParentID is the parent_linkage GUID; ParentLocators hold
//     relative_path, volume_path and absolute_win32_path, in that order.
//     Every payload and sector bitmap block a BAT entry places must lie
//     after the 1 MiB header area, outside the log, BAT and metadata
//     regions, overlap no other block, and not overflow the file offset
//     range (ErrCorrupt naming the BAT entry), as qemu checks on open.
//   - A non-empty VHDX log (log GUID set and a valid sequence of entries)
//     is replayed onto an overlay of the file: metadata and BAT are read
//     through it, and where it covers payload the original file bytes are
//     emitted as Meta, followed by a Virtual (data descriptor) or Zero (zero
//     descriptor) piece. Logs over 64 MiB are ErrUnsupported; a replay that
//     would extend the file past its end (LastFileOffset) is not supported.
//
// Every error wraps ErrCorrupt, ErrTruncated, ErrUnsupported,
// ErrFormatMismatch, ErrSpillLimit or ErrEmptyDisk (or an I/O error). A
// block that lies wholly past the end of the stream is both ErrCorrupt and
// ErrTruncated: a BAT entry pointing outside the file and a file cut short
// look the same; one that starts inside and ends past it is ErrTruncated.
// A VHD or VHDX whose headers give a virtual size of 0 is ErrEmptyDisk; a
// raw stream of 0 bytes or a fixed VHD of size 0 parses to a disk of size
// 0 (its size is known only at the end), which callers refuse.
// All allocations are bounded (at most 2^21 blocks, 16 MiB of metadata,
// 64 MiB of log, 64 KiB per VHD locator).
//
// # Writing
//
// WriteVHD and WriteVHDX write a Disk (an io.ReaderAt with a size and an
// allocation map) as a dynamic VHD (2 MiB blocks) or VHDX (32 MiB blocks,
// 512-byte logical and 4096-byte physical sectors, no log) to a plain
// io.Writer; VHDSize and VHDXSize give the exact length beforehand. Blocks
// that are not Allocated are left out. Sizes that are not a multiple of 512
// are rounded up with zeros. The VHD footer carries the specification's CHS
// geometry and the creator application "win ": Hyper-V always uses the
// current size, and qemu's vpc driver uses the current size rather than the
// geometry for that creator, so both see the exact size.
//
// NewVHDOutput and NewVHDXOutput lay out the same files as an Output: an
// io.ReaderAt with a Size, whose metadata (headers, metadata region, BAT,
// sector bitmaps, footer) is held in memory without its zero sectors and
// whose payload is read from the Disk on demand; Parts lists a range of it
// as metadata bytes, zeros and ranges of the virtual content, for a
// caller that reads the content its own way. The writers stream an
// Output, so both give the same bytes. The only bytes that do not follow
// from the disk, its GUIDs and the VHD time stamp, come from ImageIDs
// (DeriveIDs makes them from a key): the same disk with the same ids is
// the same file, byte for byte. LayoutVersion changes when the layout
// does.
package vhd
