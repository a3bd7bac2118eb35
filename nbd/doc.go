// Package nbd serves read-only disks over the Network Block Device
// protocol, so that qemu (qemu-img, qemu-io, qemu-nbd, qemu-system) can
// read a shadowvault snapshot disk in place: inspect it, convert it, or
// boot it under a qcow2 overlay that takes the writes ("instant
// recovery").
//
// An Export is a named io.ReaderAt and its size (offered to clients
// rounded up to a multiple of 512 bytes, reading zeros past its end, as
// qemu-nbd does). A Server offers the exports its Exports find and speaks,
// on each connection:
//
//  1. The fixed newstyle handshake: the greeting (NBDMAGIC, IHAVEOPT and
//     the handshake flags FIXED_NEWSTYLE and NO_ZEROES), the client's
//     flags, then options until one of them chooses an export.
//     NBD_OPT_EXPORT_NAME, NBD_OPT_GO and NBD_OPT_INFO (answering
//     NBD_INFO_EXPORT, NBD_INFO_NAME, NBD_INFO_DESCRIPTION and
//     NBD_INFO_BLOCK_SIZE), NBD_OPT_LIST and NBD_OPT_ABORT are understood;
//     every other option (STARTTLS, STRUCTURED_REPLY, the metadata
//     contexts, ...) is answered NBD_REP_ERR_UNSUP, so a client falls back
//     to plain TCP and simple replies. The empty export name chooses the
//     default export (for ExportList, its first).
//  2. Transmission with simple replies. The export is read-only: the
//     transmission flags are HAS_FLAGS, READ_ONLY, SEND_FLUSH and
//     CAN_MULTI_CONN. NBD_CMD_READ reads the export; WRITE, TRIM and
//     WRITE_ZEROES are refused with EPERM (a write's payload is read and
//     dropped); FLUSH succeeds (nothing is ever dirty); DISC ends the
//     connection once the requests before it are answered.
//
// Requests are pipelined: the connection's reader decodes requests while
// up to Server.ReadsInFlight reads of that connection run at once, each
// into a buffer of its own, and the replies are written whole, one at a
// time, in the order the reads finish (NBD lets replies overtake each
// other; the client matches them by handle).
//
// What a hostile client can cost is bounded: the handshake must finish
// within Server.HandshakeTimeout; option data is read into memory only up
// to 8 KiB (more is skipped, and answered NBD_REP_ERR_TOO_BIG); a read
// may ask for at most MaxBlockSize bytes (more is refused with EINVAL);
// the read buffers of all connections together hold at most
// Server.ReadBudget bytes; a write's payload is discarded as it arrives
// and one longer than MaxBlockSize ends the connection; and at most
// Server.MaxConnections clients are served at once.
//
// The package builds on the standard library alone.
package nbd
