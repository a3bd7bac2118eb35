// Package guestfs reads the guest's view of a virtual disk: its partition
// table and the NTFS volumes on it.
//
// Everything works on a disk given as an io.ReaderAt over its virtual
// content plus its size. On the server that is a reader over a snapshot's
// disk map (so one file can be recovered without restoring the disk); on
// the agent it is the parsed VHD/VHDX or raw file in the shadow copy.
//
// Partitions reads MBR (with extended/logical partitions) and GPT (header
// and entry array CRC32 checked, falling back to the backup header at the
// end of the disk) and names each partition's filesystem from its boot
// sector, not from the type id alone. A disk without a partition table
// whose sector 0 is a filesystem boot sector is one partition at offset 0.
//
// OpenNTFS opens an NTFS partition with www.velocidex.com/golang/go-ntfs,
// given an io.SectionReader at the partition offset (go-ntfs's own offset
// argument does not work). FS.List, FS.Stat, FS.Open and FS.Cat browse and
// read files by "/"-separated, case-insensitive paths.
//
// FS.Layout gives the hints for guest-aware ingest, in disk byte offsets:
// the start and end of every file data run (forced chunk cuts), the free
// clusters from $Bitmap, and the clusters of pagefile.sys, hiberfil.sys and
// swapfile.sys.
//
// The disk may be corrupt or hostile. Every call into go-ntfs runs under
// recover, so a panic becomes ErrCorrupt; sizes, directory listings,
// attribute lists and run lists are capped before go-ntfs sees them, so
// memory stays bounded. An I/O error of the underlying reader is returned
// as itself (wrapped), never disguised as corruption.
package guestfs
