package guestfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

func TestPartitions(t *testing.T) {
	needTools(t)
	mbr := vhdtest.NTFSDisk(t, t.TempDir(), 16, map[string][]byte{"a.txt": []byte("hello")})
	part := mkPart(t, 12, nil)
	gpt := mkDisk(t, part, "gpt")
	gptSize := int64(14 << 20)
	ntfs12 := func(off int64, name string) []Partition {
		return []Partition{{Index: 1, Type: "ntfs", Offset: off, Size: 12 << 20, Name: name}}
	}
	flip := func(path string, offs ...int64) string {
		b := readFile(t, path)
		for _, off := range offs {
			b[off] ^= 0x5a
		}
		out := filepath.Join(t.TempDir(), "flipped.raw")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return out
	}
	logical := filepath.Join(t.TempDir(), "logical.raw")
	if err := os.WriteFile(logical, make([]byte, 32<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "label: dos\nstart=2048, size=4096, type=83\nstart=8192, type=5\nstart=10240, size=24576, type=7\n", "sfdisk", "-q", logical)
	writeAt(t, logical, readFile(t, part), 10240*512)

	tests := []struct {
		name    string
		disk    string
		want    []Partition
		wantErr error
	}{
		{"mbr", mbr, []Partition{{Index: 1, Type: "ntfs", Offset: 1 << 20, Size: 14 << 20}}, nil},
		{"gpt", gpt, ntfs12(1<<20, "Basic data partition"), nil},
		{"none", mkDisk(t, part, "none"), ntfs12(0, ""), nil},
		{"gpt primary header damaged", flip(gpt, 512+40), ntfs12(1<<20, "Basic data partition"), nil},
		{"gpt primary entries damaged", flip(gpt, 1024+60), ntfs12(1<<20, "Basic data partition"), nil},
		{"gpt both headers damaged", flip(gpt, 512+40, gptSize-512+40), nil, ErrCorrupt},
		{"logical", logical, []Partition{
			{Index: 1, Type: "unknown", Offset: 1 << 20, Size: 2 << 20},
			{Index: 5, Type: "ntfs", Offset: 10240 * 512, Size: 12 << 20},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, size := openDisk(t, tt.disk)
			got, err := Partitions(r, size)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPartitionsHandMade(t *testing.T) {
	entry := func(b []byte, typ byte, start, length uint32) {
		b[4] = typ
		binary.LittleEndian.PutUint32(b[8:], start)
		binary.LittleEndian.PutUint32(b[12:], length)
	}
	sector := func(disk []byte, n int) []byte {
		s := disk[n*512 : (n+1)*512]
		binary.LittleEndian.PutUint16(s[510:], 0xaa55)
		return s
	}
	t.Run("ebr loop", func(t *testing.T) {
		disk := make([]byte, 64<<10)
		entry(sector(disk, 0)[446:], 0x05, 1, 100)
		ebr := sector(disk, 1) // logical at 2, next EBR at 1+3 = 4
		entry(ebr[446:], 0x07, 1, 2)
		entry(ebr[462:], 0x05, 3, 10)
		ebr = sector(disk, 4) // logical at 5, next EBR at 4 again: a loop
		entry(ebr[446:], 0x07, 1, 2)
		entry(ebr[462:], 0x05, 3, 10)
		got, err := Partitions(bytes.NewReader(disk), int64(len(disk)))
		want := []Partition{
			{Index: 5, Type: "unknown", Offset: 2 * 512, Size: 1024},
			{Index: 6, Type: "unknown", Offset: 5 * 512, Size: 1024},
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("clipped and outside", func(t *testing.T) {
		disk := make([]byte, 64<<10)
		mbr := sector(disk, 0)
		entry(mbr[446:], 0x07, 64, 1000) // runs past the end: clipped
		entry(mbr[462:], 0x07, 5000, 10) // starts past the end: dropped
		entry(mbr[478:], 0x00, 1, 10)    // empty slot
		got, err := Partitions(bytes.NewReader(disk), int64(len(disk)))
		want := []Partition{{Index: 1, Type: "unknown", Offset: 64 * 512, Size: 32 << 10}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("blank disk", func(t *testing.T) {
		got, err := Partitions(bytes.NewReader(make([]byte, 1<<20)), 1<<20)
		if err != nil || len(got) != 0 {
			t.Fatalf("got %+v, %v; want nothing", got, err)
		}
	})
}
