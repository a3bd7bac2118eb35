package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteBack asks the kernel to start writing [off, off+n) of f to the
// device now, without waiting for it (sync_file_range, SYNC_FILE_RANGE_WRITE):
// a restore's writes reach the disk while it downloads the rest, instead of
// all at the fsync. It is a hint: an error changes nothing, the fsync at
// the end still decides.
func startWriteBack(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
