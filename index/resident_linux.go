package index

import (
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapped tells the kernel that the process no longer needs the
// pages of the index file it has mapped. bbolt reads the file through a
// shared, read-only mapping (it writes with pwrite), so a read touches
// pages into the process, where they stay, and count in its RSS, until
// the kernel needs the memory: a scan of the chunks of a million-chunk
// index would leave its whole 150 MB mapped into the server. After
// MADV_DONTNEED the pages are still in the page cache, and a later read
// maps them again (a minor fault): nothing is lost, and nothing changes
// for a reader in the middle of a transaction, whose pages bbolt never
// overwrites (it writes changed pages elsewhere). tx must be open: bbolt
// remaps the file only while a write transaction commits, and waits for
// every read transaction to end first, so the range is the mapping's.
func releaseMapped(tx *bolt.Tx) {
	size := tx.Size()
	if size <= 0 {
		return
	}
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, tx.DB().Info().Data, uintptr(size), unix.MADV_DONTNEED)
}
