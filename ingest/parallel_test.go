package ingest

import (
	"bytes"
	"context"
	"errors"
	mrand "math/rand/v2"
	"reflect"
	"testing"

	"github.com/restic/chunker"

	"github.com/shadowvault/shadowvault/chunk"
)

// smallParams cut chunks of about 1 KiB, so that short disks span many
// segments and chunks.
var smallParams = chunk.Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 512, AvgBits: 10, MaxSize: 8 << 10}

// stitchDisk builds a disk that is hard on the stitcher: random data,
// runs of one non-zero byte (no content-defined cut: every chunk ends at
// MaxSize, so chunkings started at different places stay out of step
// until the run ends), a repeated text, and zero blocks that end runs,
// aligned and not.
func stitchDisk(seed uint64, size int) []byte {
	r := mrand.New(mrand.NewPCG(seed, 3))
	d := make([]byte, size)
	for off := 0; off < size; {
		n := min(size-off, 1+r.IntN(size/4+1))
		switch r.IntN(5) {
		case 0, 1:
			for i := off; i < off+n; i++ {
				d[i] = byte(r.Uint32())
			}
		case 2:
			for i := off; i < off+n; i++ {
				d[i] = 0xA5
			}
		case 3:
			for i := off; i < off+n; i++ {
				d[i] = "shadowvault backs up VMs "[i%25]
			}
		case 4: // zeros: a zero extent where they cover whole 64 KiB blocks
		}
		off += n
	}
	return d
}

// TestParallelChunksAreSerialChunks: whatever the number of workers and
// the segment size, a disk map is exactly the one a single chunker makes,
// and it rebuilds the disk.
func TestParallelChunksAreSerialChunks(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		params   chunk.Params
		size     int
		segments []int
	}{
		{smallParams, 1 << 20, []int{1, 700, 4096, 8 << 10, 8<<10 + 1, 100 << 10}},
		{smallParams, 3<<20 + 517, []int{3001, 65536, 1 << 20}},
		{testParams, 9<<20 + 3, []int{64 << 10, 1 << 20, 1<<20 + 12345, DefaultSegmentSize}},
	}
	for _, c := range cases {
		for seed := uint64(1); seed <= 4; seed++ {
			disk := stitchDisk(seed, c.size)
			want, err := Disk(ctx, bytes.NewReader(disk), &memSaver{}, Options{Params: c.params, Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, seg := range c.segments {
				for _, workers := range []int{2, 3, 5} {
					m := &memSaver{}
					got, err := Disk(ctx, bytes.NewReader(disk), m, Options{Params: c.params, Workers: workers, SegmentSize: seg})
					if err != nil {
						t.Fatalf("seed %d, segments of %d, %d workers: %v", seed, seg, workers, err)
					}
					if !reflect.DeepEqual(got.Map, want.Map) || got.Chunks != want.Chunks {
						t.Fatalf("seed %d, segments of %d, %d workers: %d extents, %d chunks; one chunker: %d extents, %d chunks",
							seed, seg, workers, len(got.Map.Extents), got.Chunks, len(want.Map.Extents), want.Chunks)
					}
					if !bytes.Equal(rebuild(t, m, got), disk) {
						t.Fatalf("seed %d, segments of %d, %d workers: the disk map rebuilds other bytes", seed, seg, workers)
					}
				}
			}
		}
	}
}

// TestParallelIngestCancels: a failing saver stops a parallel ingest with
// its error, without hanging.
func TestParallelIngestCancels(t *testing.T) {
	disk := stitchDisk(9, 8<<20)
	_, err := Disk(context.Background(), bytes.NewReader(disk), failSaver{}, Options{Params: smallParams, Workers: 3, SegmentSize: 16 << 10})
	if err == nil {
		t.Fatal("an ingest whose saves fail succeeded")
	}
}

type failSaver struct{}

func (failSaver) Save(context.Context, chunk.ID, []byte) (int, error) {
	return 0, errSaveFailed
}

var errSaveFailed = errors.New("save failed")
