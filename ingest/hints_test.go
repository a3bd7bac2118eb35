package ingest

import (
	"bytes"
	"context"
	"errors"
	"github.com/shadowvault/shadowvault/diskmap"
	"testing"
)

func TestHintsForceCutsAndFree(t *testing.T) {
	disk := mixedDisk(8 << 20)
	for i := range disk[2<<20 : 3<<20] { // make sure the free range holds data
		disk[2<<20+i] = byte(i*13 + 1)
	}
	h := &diskmap.Hints{
		Cuts: []int64{1<<20 + 4096, 5<<20 + 512, 7 << 20},
		Free: []diskmap.Range{{Off: 2 << 20, Len: 1 << 20}},
	}
	if err := h.Normalize(); err != nil {
		t.Fatal(err)
	}
	m := &memSaver{}
	res, err := Disk(context.Background(), bytes.NewReader(disk), m, Options{Params: testParams, Hints: h})
	if err != nil {
		t.Fatal(err)
	}
	starts := map[int64]bool{}
	for _, e := range res.Map.Extents {
		starts[e.Offset] = true
	}
	for _, c := range h.Cuts {
		if !starts[c] {
			t.Errorf("no extent starts at the boundary %d", c)
		}
	}
	got := rebuild(t, m, res)
	want := append([]byte(nil), disk...)
	clear(want[2<<20 : 3<<20])
	if !bytes.Equal(got, want) {
		t.Fatal("content differs: the free range must read as zeros and nothing else change")
	}
	if res.Guest.FreeBytes != 1<<20 {
		t.Fatalf("free excluded %d, want %d", res.Guest.FreeBytes, 1<<20)
	}
}

func TestHintsValidation(t *testing.T) {
	for name, h := range map[string]diskmap.Hints{
		"unaligned cut":   {Cuts: []int64{1000}},
		"negative cut":    {Cuts: []int64{-512}},
		"unaligned free":  {Free: []diskmap.Range{{Off: 512, Len: 100}}},
		"empty free":      {Free: []diskmap.Range{{Off: 512, Len: 0}}},
		"overflowing end": {Free: []diskmap.Range{{Off: 1 << 62, Len: 1 << 62}}},
	} {
		if err := h.Normalize(); !errors.Is(err, diskmap.ErrBadHints) {
			t.Errorf("%s: %v, want diskmap.ErrBadHints", name, err)
		}
	}
	h := &diskmap.Hints{Cuts: []int64{16 << 20}}
	h.Normalize()
	_, err := Disk(context.Background(), bytes.NewReader(make([]byte, 1<<20)), &memSaver{}, Options{Params: testParams, Hints: h})
	if !errors.Is(err, diskmap.ErrBadHints) {
		t.Fatalf("a boundary past the disk: %v, want diskmap.ErrBadHints", err)
	}
	// Overlapping free ranges merge.
	h = &diskmap.Hints{Free: []diskmap.Range{{Off: 0, Len: 4096}, {Off: 2048, Len: 4096}, {Off: 8192, Len: 512}}}
	if err := h.Normalize(); err != nil || len(h.Free) != 2 || h.Free[0].Len != 6144 {
		t.Fatalf("merge: %+v %v", h.Free, err)
	}
}
