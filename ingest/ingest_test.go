package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/shadowvault/shadowvault/diskmap"
	"io"
	mrand "math/rand/v2"
	"sync"
	"testing"

	"github.com/restic/chunker"
	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/vhd"
)

// memSaver keeps chunks in a map: a unit-test Saver.
type memSaver struct {
	mu     sync.Mutex
	chunks map[chunk.ID][]byte
	stored int
}

func (m *memSaver) Save(ctx context.Context, id chunk.ID, data []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chunks == nil {
		m.chunks = map[chunk.ID][]byte{}
	}
	if _, ok := m.chunks[id]; ok {
		return 0, nil
	}
	if chunk.Sum(data) != id {
		return 0, errors.New("id does not match data")
	}
	m.chunks[id] = append([]byte(nil), data...)
	m.stored += len(data)
	return len(data), nil
}

var testParams = chunk.Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 64 << 10, AvgBits: 17, MaxSize: 1 << 20}

// rebuild writes the virtual content described by extents.
func rebuild(t *testing.T, m *memSaver, res *Result) []byte {
	t.Helper()
	var out []byte
	for _, e := range res.Map.Extents {
		if e.Offset != int64(len(out)) {
			t.Fatalf("extent at %d, want %d", e.Offset, len(out))
		}
		switch e.Kind {
		case diskmap.ExtentZero:
			out = append(out, make([]byte, e.Length)...)
		case diskmap.ExtentData:
			c, ok := m.chunks[e.ID]
			if !ok || int64(len(c)) != e.Length {
				t.Fatalf("extent at %d: chunk %s missing or wrong length", e.Offset, e.ID.Short())
			}
			out = append(out, c...)
		default:
			t.Fatalf("unexpected extent kind %v", e.Kind)
		}
	}
	return out
}

// mixedDisk builds a disk of random, text-like and zero regions.
func mixedDisk(size int) []byte {
	r := mrand.New(mrand.NewPCG(1, 2))
	d := make([]byte, size)
	for off := 0; off < size; {
		n := min(size-off, 1+r.IntN(3<<20))
		switch r.IntN(3) {
		case 0:
			rand.Read(d[off : off+n])
		case 1:
			for i := off; i < off+n; i++ {
				d[i] = "shadowvault backs up VMs "[i%25]
			}
		}
		off += n
	}
	return d
}

func TestRoundTripRaw(t *testing.T) {
	// A disk of size 0 is refused: TestEmptyDiskRefused.
	for _, size := range []int{1, 4095, 65536, 1<<20 + 7, 5<<20 + 12345, 24 << 20} {
		disk := mixedDisk(size)
		m := &memSaver{}
		res, err := Disk(context.Background(), bytes.NewReader(disk), m, Options{Params: testParams, Format: vhd.FormatRaw})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if got := rebuild(t, m, res); !bytes.Equal(got, disk) {
			t.Fatalf("size %d: rebuilt content differs", size)
		}
		want := blake3.Sum256(disk)
		if res.StreamBytes != int64(size) || res.StreamBLAKE3 != hex.EncodeToString(want[:]) || res.Map.VirtualSize != int64(size) {
			t.Fatalf("size %d: stream %d bytes %s, virtual %d", size, res.StreamBytes, res.StreamBLAKE3, res.Map.VirtualSize)
		}
		var recipe int64
		for _, p := range res.Map.Recipe {
			if p.Kind != diskmap.PieceVirtual {
				t.Fatalf("raw recipe has a %v piece", p.Kind)
			}
			recipe += p.Length
		}
		if recipe != int64(size) {
			t.Fatalf("recipe covers %d of %d", recipe, size)
		}
	}
}

func TestZeroRegionsNotStored(t *testing.T) {
	disk := make([]byte, 16<<20)
	rand.Read(disk[3<<20 : 4<<20])
	m := &memSaver{}
	res, err := Disk(context.Background(), bytes.NewReader(disk), m, Options{Params: testParams})
	if err != nil {
		t.Fatal(err)
	}
	if m.stored != 1<<20 {
		t.Fatalf("stored %d bytes of a disk with 1 MiB of data", m.stored)
	}
	if !bytes.Equal(rebuild(t, m, res), disk) {
		t.Fatal("rebuilt content differs")
	}
}

func TestDeterministicChunks(t *testing.T) {
	disk := mixedDisk(12 << 20)
	var first []diskmap.Extent
	for i := 0; i < 3; i++ {
		res, err := Disk(context.Background(), bytes.NewReader(disk), &memSaver{}, Options{Params: testParams, Workers: 1 + i*3})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res.Map.Extents
			continue
		}
		if len(res.Map.Extents) != len(first) {
			t.Fatalf("run %d: %d extents, first run %d", i, len(res.Map.Extents), len(first))
		}
		for j := range first {
			if first[j] != res.Map.Extents[j] {
				t.Fatalf("run %d: extent %d differs", i, j)
			}
		}
	}
}

type failingReader struct {
	r     io.Reader
	after int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("connection reset")
	}
	n, err := f.r.Read(p[:min(len(p), f.after)])
	f.after -= n
	return n, err
}

func TestBodyErrorFails(t *testing.T) {
	disk := mixedDisk(8 << 20)
	_, err := Disk(context.Background(), &failingReader{r: bytes.NewReader(disk), after: 3 << 20}, &memSaver{}, Options{Params: testParams})
	if err == nil {
		t.Fatal("ingest of a broken stream succeeded")
	}
}
