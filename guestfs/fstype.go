package guestfs

import (
	"bytes"
	"encoding/binary"
	"io"
)

// detectFS names the filesystem whose boot sector or superblock starts at
// off, or returns "unknown". It reads at most 4 KiB and never fails: an
// unreadable partition is "unknown".
func detectFS(r io.ReaderAt, off, size int64) string {
	n := min(size, 4096)
	if n < 512 {
		return "unknown"
	}
	b := make([]byte, n)
	m, _ := r.ReadAt(b, off)
	b = b[:m]
	if len(b) < 512 {
		return "unknown"
	}
	at := func(i int, s string) bool {
		return len(b) >= i+len(s) && bytes.Equal(b[i:i+len(s)], []byte(s))
	}
	bootSig := binary.LittleEndian.Uint16(b[510:]) == 0xaa55
	switch {
	case at(3, "NTFS    ") && bootSig:
		return "ntfs"
	case at(3, "EXFAT   "):
		return "exfat"
	case at(3, "ReFS\x00"):
		return "refs"
	case at(3, "-FVE-FS-"):
		return "bitlocker"
	case bootSig && (at(54, "FAT") || at(82, "FAT32")) && fatBPB(b):
		return "fat"
	case at(0, "XFSB"):
		return "xfs"
	case at(512, "LABELONE") || at(536, "LVM2"):
		return "lvm"
	case at(1080, "\x53\xef"):
		return "ext"
	case at(4086, "SWAPSPACE2"):
		return "swap"
	}
	return "unknown"
}

// fatBPB reports whether a FAT BIOS parameter block looks sane, so that an
// MBR whose boot code happens to hold "FAT" is not taken for a volume.
func fatBPB(b []byte) bool {
	bps := binary.LittleEndian.Uint16(b[11:])
	spc := b[13]
	okBPS := bps == 512 || bps == 1024 || bps == 2048 || bps == 4096
	return okBPS && spc != 0 && spc&(spc-1) == 0
}
