//go:build !windows

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSparseFile: whatever the sizes of the writes, the file holds the
// bytes written, zero blocks take no space, and a trailing hole counts.
func TestSparseFile(t *testing.T) {
	data := make([]byte, 8<<20+777)
	for i := 3 << 20; i < 3<<20+100<<10; i++ {
		data[i] = byte(i)
	}
	data[len(data)-1000] = 1
	for _, step := range []int{1 << 20, 32 << 10, 4097, 7} {
		p := filepath.Join(t.TempDir(), "out")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		s := newSparseFile(f)
		for off := 0; off < len(data); off += step {
			if _, err := s.Write(data[off:min(off+step, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.finish(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("writes of %d: the file differs (%d bytes, %v)", step, len(got), err)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if used := st.Blocks * 512; used > 1<<20 {
			t.Fatalf("writes of %d: %d bytes allocated for %d of data", step, used, 100<<10+1)
		}
	}
	// Only zeros: a file of the right length, all hole.
	p := filepath.Join(t.TempDir(), "zeros")
	f, _ := os.Create(p)
	s := newSparseFile(f)
	s.Write(make([]byte, 5<<20))
	if err := s.finish(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(p); fi.Size() != 5<<20 {
		t.Fatalf("zeros: %d bytes", fi.Size())
	}
}
