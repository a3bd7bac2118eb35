package vhd_test

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/shadowvault/shadowvault/vhd"
	"github.com/shadowvault/shadowvault/vhd/vhdtest"
)

// zeros reads as an endless run of zero bytes: the payload after a head.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// liveHeap returns the live heap after a full collection.
func liveHeap() (alloc, inuse uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.HeapInuse
}

// TestBATMemory measures what the parser keeps for a VHDX with 2^21 FULL
// BAT entries (2 TiB of 1 MiB blocks, a 20 MiB head): after NewStream, and
// once the head was emitted and the first payload block is requested, the
// point where a stalled upload waits.
func TestBATMemory(t *testing.T) {
	head := vhdtest.HugeBATVHDXHead(2<<40, 1<<20)
	base, baseInuse := liveHeap()
	s, err := vhd.NewStream(io.MultiReader(bytes.NewReader(head), zeros{}), vhd.Options{SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opened, openedInuse := liveHeap()
	var p vhd.Piece
	for {
		if p, err = s.Next(); err != nil {
			t.Fatal(err)
		}
		if p.Kind == vhd.Payload {
			break
		}
		if p.Kind == vhd.Meta {
			if _, err := io.Copy(io.Discard, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if p.FileOff != int64(len(head)) || p.VOff != 0 {
		t.Fatalf("first payload piece %+v, want at file offset %d", p, len(head))
	}
	first, firstInuse := liveHeap()
	runtime.KeepAlive(s)
	runtime.KeepAlive(head)
	d := func(a, b uint64) float64 { return (float64(a) - float64(b)) / (1 << 20) }
	t.Logf("2^21 FULL BAT entries, head %d MiB: heap after NewStream %+.1f MiB (in use %+.1f), at the first block %+.1f MiB (in use %+.1f)",
		len(head)>>20, d(opened, base), d(openedInuse, baseInuse), d(first, base), d(firstInuse, baseInuse))
	if got := d(first, base); got > 16 {
		t.Errorf("parser keeps %.1f MiB at the first block of a 2^21 block VHDX, want at most 16 MiB", got)
	}
}

// TestMetadataLimit: a BAT that needs more parser memory than
// Options.MetadataLimit is refused before it is read.
func TestMetadataLimit(t *testing.T) {
	head := vhdtest.HugeBATVHDXHead(64<<30, 1<<20) // 65536 blocks: 512 KiB kept
	_, err := vhd.NewStream(bytes.NewReader(head), vhd.Options{MetadataLimit: 256 << 10})
	wantErr(t, err, vhd.ErrMetadataLimit)
	s, err := vhd.NewStream(io.MultiReader(bytes.NewReader(head), zeros{}), vhd.Options{MetadataLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestUnorderedBAT: blocks that the BAT lists out of file order are walked
// in file order.
func TestUnorderedBAT(t *testing.T) {
	head := vhdtest.HugeBATVHDXHead(8<<20, 1<<20) // blocks 0..7 at 4..11 MiB
	const bat = 3 << 20
	e0 := append([]byte(nil), head[bat:bat+8]...)
	copy(head[bat:], head[bat+7*8:bat+8*8])
	copy(head[bat+7*8:], e0)
	body := make([]byte, 8<<20)
	for i := range body {
		body[i] = byte(i >> 20)
	}
	s, err := vhd.NewStream(bytes.NewReader(append(head, body...)), vhd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int64
	for {
		p, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind == vhd.Payload {
			got = append(got, [2]int64{p.FileOff >> 20, p.VOff >> 20})
		}
	}
	want := [][2]int64{{4, 7}, {5, 1}, {6, 2}, {7, 3}, {8, 4}, {9, 5}, {10, 6}, {11, 0}}
	if len(got) != len(want) {
		t.Fatalf("payload pieces (file MiB, virtual MiB) %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("payload pieces (file MiB, virtual MiB) %v, want %v", got, want)
		}
	}
	// Two blocks at one place are refused, naming a BAT entry.
	copy(head[bat+8:], head[bat:bat+8])
	_, err = vhd.NewStream(bytes.NewReader(append(head, body...)), vhd.Options{})
	wantErr(t, err, vhd.ErrCorrupt)
}
