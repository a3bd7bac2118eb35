package guestfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// testFiles are put into every test volume. big.bin spans more than four
// 1 MiB chunks; small.txt is resident in its MFT record.
func testFiles() map[string][]byte {
	return map[string][]byte{
		"big.bin":          randBytes(1, 4<<20+12345),
		"small.txt":        []byte(strings.Repeat("resident data. ", 30)), // 450 bytes
		"empty.txt":        {},
		"Mixed Case.dat":   randBytes(2, 10000),
		"$Extend/deep.bin": randBytes(3, 200<<10),
	}
}

// openFS opens the only NTFS partition of a disk image file.
func openFS(t testing.TB, disk string) *FS {
	t.Helper()
	r, size := openDisk(t, disk)
	parts, err := Partitions(r, size)
	if err != nil || len(parts) != 1 || parts[0].Type != "ntfs" {
		t.Fatalf("Partitions = %+v, %v", parts, err)
	}
	fs, err := OpenNTFS(context.Background(), r, parts[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// checkFiles compares every file, read with Cat and with Open, with what
// was put into the volume.
func checkFiles(t *testing.T, fs *FS, files map[string][]byte) {
	t.Helper()
	for name, want := range files {
		var buf bytes.Buffer
		n, err := fs.Cat(context.Background(), "/"+name, &buf)
		if err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("Cat %s: %d bytes, %v; equal %v", name, n, err, bytes.Equal(buf.Bytes(), want))
		}
		r, size, err := fs.Open(context.Background(), "/"+strings.ToUpper(name))
		if err != nil || size != int64(len(want)) {
			t.Fatalf("Open %s: size %d, %v", name, size, err)
		}
		for _, off := range []int64{0, 1, 4095, 4096, int64(len(want)) / 2, int64(len(want)) - 7} {
			if off < 0 || off >= size {
				continue
			}
			p := make([]byte, min(3000, size-off))
			if n, err := r.ReadAt(p, off); n != len(p) || (err != nil && err != io.EOF) || !bytes.Equal(p, want[off:off+int64(n)]) {
				t.Errorf("ReadAt %s at %d: %d, %v", name, off, n, err)
			}
		}
		if n, err := r.ReadAt(make([]byte, 10), size); n != 0 || err != io.EOF {
			t.Errorf("ReadAt %s at its size: %d, %v; want 0, EOF", name, n, err)
		}
	}
}

func TestReadFiles(t *testing.T) {
	needTools(t)
	files := testFiles()
	root := map[string][]byte{}
	for name, b := range files {
		if !strings.Contains(name, "/") {
			root[name] = b
		}
	}
	part := mkPart(t, 16, files)
	disks := map[string]string{
		"vhdtest mbr": vhdtest.NTFSDisk(t, t.TempDir(), 16, root),
		"gpt":         mkDisk(t, part, "gpt"),
		"none":        mkDisk(t, part, "none"),
	}
	for name, disk := range disks {
		t.Run(name, func(t *testing.T) {
			fs := openFS(t, disk)
			if name == "vhdtest mbr" {
				checkFiles(t, fs, root)
			} else {
				checkFiles(t, fs, files)
			}
		})
	}
}

func TestListAndErrors(t *testing.T) {
	needTools(t)
	files := testFiles()
	fs := openFS(t, mkDisk(t, mkPart(t, 16, files), "mbr"))
	entries, err := fs.List(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		if e.Name != "$Extend" && e.Size != int64(len(files[e.Name])) {
			t.Errorf("%s: size %d, want %d", e.Name, e.Size, len(files[e.Name]))
		}
		if e.MTime.Before(time.Now().Add(-time.Hour)) || e.MTime.After(time.Now().Add(time.Hour)) {
			t.Errorf("%s: mtime %v", e.Name, e.MTime)
		}
	}
	// The root's metafiles, $Extend included, and "." are not listed.
	if got, want := strings.Join(names, ","), "big.bin,empty.txt,Mixed Case.dat,small.txt"; got != want {
		t.Errorf("List / = %s, want %s", got, want)
	}
	sub, err := fs.List(context.Background(), "/$EXTEND/")
	if err != nil {
		t.Fatal(err)
	}
	var subNames []string
	for _, e := range sub {
		subNames = append(subNames, e.Name)
	}
	if got := strings.Join(subNames, ","); !strings.Contains(got, "deep.bin") || !strings.Contains(got, "$Quota") {
		t.Errorf("List /$Extend = %s", got)
	}
	if e, err := fs.Stat(context.Background(), "/$extend"); err != nil || !e.Dir || e.Name != "$Extend" {
		t.Errorf("Stat /$extend = %+v, %v", e, err)
	}
	if e, err := fs.Stat(context.Background(), "/"); err != nil || !e.Dir {
		t.Errorf("Stat / = %+v, %v", e, err)
	}
	errTests := []struct {
		op   string
		err  error
		want error
	}{
		{"List missing", second(fs.List(context.Background(), "/missing")), ErrNotFound},
		{"List file", second(fs.List(context.Background(), "/small.txt")), ErrNotDir},
		{"List under file", second(fs.List(context.Background(), "/small.txt/x")), ErrNotDir},
		{"Stat missing", second(fs.Stat(context.Background(), "/nope/deeper")), ErrNotFound},
		{"Cat dir", second(fs.Cat(context.Background(), "/$Extend", io.Discard)), ErrIsDir},
		{"Cat missing", second(fs.Cat(context.Background(), "/big.bin.x", io.Discard)), ErrNotFound},
	}
	for _, tt := range errTests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.op, tt.err, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fs.Cat(ctx, "/big.bin", io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("Cat with a cancelled context: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestNotNTFS(t *testing.T) {
	disk := make([]byte, 1<<20)
	_, err := OpenNTFS(context.Background(), bytes.NewReader(disk), Partition{Index: 1, Offset: 0, Size: int64(len(disk))})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("OpenNTFS on zeros: %v, want ErrUnsupported", err)
	}
}

func TestConcurrentReads(t *testing.T) {
	needTools(t)
	files := testFiles()
	fs := openFS(t, mkDisk(t, mkPart(t, 16, files), "none"))
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			var buf bytes.Buffer
			name := []string{"big.bin", "Mixed Case.dat", "small.txt", "$Extend/deep.bin"}[i%4]
			_, err := fs.Cat(context.Background(), "/"+name, &buf)
			if err == nil && !bytes.Equal(buf.Bytes(), files[name]) {
				err = errors.New(name + " differs")
			}
			if err == nil {
				_, err = fs.List(context.Background(), "/")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
