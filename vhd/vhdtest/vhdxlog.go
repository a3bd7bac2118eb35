package vhdtest

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// logDesc is one log descriptor: data (4 KiB) at off, or zeros (n bytes).
type logDesc struct {
	off  int64
	n    int64
	data []byte
}

// logEntry builds a log entry with sequence number seq and tail.
func logEntry(id [16]byte, seq uint64, tail, fileSize int64, descs []logDesc) []byte {
	descLen := (64 + 32*int64(len(descs)) + 4095) / 4096 * 4096
	var data [][]byte
	e := make([]byte, descLen)
	copy(e, "loge")
	le32(e[12:], uint32(tail))
	le64(e[16:], seq)
	le32(e[24:], uint32(len(descs)))
	copy(e[32:], id[:])
	le64(e[48:], uint64(fileSize))
	le64(e[56:], uint64(fileSize))
	for i, d := range descs {
		x := e[64+32*i:]
		if d.data == nil {
			copy(x, "zero")
			le64(x[8:], uint64(d.n))
		} else {
			copy(x, "desc")
			copy(x[4:8], d.data[4092:])
			copy(x[8:16], d.data[:8])
			s := make([]byte, 4096)
			copy(s, "data")
			le32(s[4:], uint32(seq>>32))
			copy(s[8:4092], d.data[8:4092])
			le32(s[4092:], uint32(seq))
			data = append(data, s)
		}
		le64(x[16:], uint64(d.off))
		le64(x[24:], seq)
	}
	for _, s := range data {
		e = append(e, s...)
	}
	le32(e[8:], uint32(len(e)))
	putCRC(e)
	return e
}

// LogVHDX writes a dynamic VHDX (1 MiB blocks) of raw at out with a
// non-empty log, and the content after replaying it at want. The active
// sequence has two entries: the second overrides a data sector written by
// the first, writes another, and zeroes 8 KiB of another block. A stale
// entry of an older sequence, which must not be replayed, sits further on.
// raw must hold at least two non-zero 1 MiB blocks.
func LogVHDX(t testing.TB, out, raw, want string) {
	t.Helper()
	m := readAll(t, raw)
	blocks := dynamicBlocks(m, mib)
	var present []int64
	for i := int64(0); i*mib < int64(len(m)); i++ {
		if st, _, _ := blocks(i); st == 6 {
			present = append(present, i)
		}
	}
	if len(present) < 2 || len(m) > 1<<30 {
		t.Fatalf("LogVHDX: %s needs two non-zero blocks and at most 1 GiB", raw)
	}
	// The generator puts the payload at 4 MiB, in block order.
	fileOff := func(j int) int64 { return 4*mib + int64(j)*mib }
	k1, k2 := fileOff(0), fileOff(1)
	sector := func(c byte) []byte { return bytes.Repeat([]byte{c, c + 1, c + 2}, 4096)[:4096] }
	id := msGUID("11111111-2222-3333-4444-555555555555")
	img := &vhdxImage{size: int64(len(m)), bs: mib, block: blocks, logGUID: id}
	img.log = func(size int64) []byte {
		l := make([]byte, mib)
		a := logEntry(id, 5, 0, size, []logDesc{{off: k1 + 8192, data: sector('a')}})
		b := logEntry(id, 6, 0, size, []logDesc{{off: k2, n: 8192}, {off: k1 + 8192, data: sector('x')}, {off: k1 + 12288, data: sector('y')}})
		stale := logEntry(id, 3, 64<<10, size, []logDesc{{off: k1, data: sector('s')}})
		copy(l, a)
		copy(l[len(a):], b)
		copy(l[64<<10:], stale)
		return l
	}
	img.write(t, out)
	v1, v2 := present[0]*mib, present[1]*mib
	copy(m[v1+8192:], sector('x'))
	copy(m[v1+12288:], sector('y'))
	clear(m[v2 : v2+8192])
	if err := os.WriteFile(want, m, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = binary.LittleEndian
}

// HostileLogVHDX returns a small dynamic VHDX (size bytes of virtual disk,
// 1 MiB blocks, none allocated) with a log of logLen bytes (a multiple of
// 1 MiB, at most 64 MiB) built to make a naive replay slow:
//
//   - crcStorm false: the log is filled with valid entries of one active
//     sequence, each holding only zero descriptors, perEntry per entry,
//     every one at its own offset past the end of the file (so none merge);
//   - crcStorm true: every log sector starts an entry header that claims
//     the whole log as its length and whose checksum is wrong.
//
// It returns the image bytes.
func HostileLogVHDX(t testing.TB, out string, size, logLen int64, perEntry int, crcStorm bool) {
	t.Helper()
	id := msGUID("11111111-2222-3333-4444-555555555555")
	img := &vhdxImage{size: size, bs: mib, logGUID: id, logLen: logLen,
		block: func(int64) (uint64, []byte, []byte) { return 0, nil, nil }}
	img.log = func(fileSize int64) []byte {
		l := make([]byte, logLen)
		if crcStorm {
			for off := int64(0); off < logLen; off += 4096 {
				e := logEntry(id, 7, 0, fileSize, nil)
				le32(e[8:], uint32(logLen))
				le32(e[4:], 0xdeadbeef) // wrong checksum
				copy(l[off:], e[:64])
			}
			return l
		}
		entrySize := (64 + 32*int64(perEntry) + 4095) / 4096 * 4096
		next := int64(1 << 40) // past the end of the file
		seq := uint64(1)
		for off := int64(0); off+entrySize <= logLen; off += entrySize {
			descs := make([]logDesc, perEntry)
			for i := range descs {
				descs[i] = logDesc{off: next, n: 4096}
				next += 8192
			}
			copy(l[off:], logEntry(id, seq, 0, fileSize, descs))
			seq++
		}
		return l
	}
	img.write(t, out)
}
