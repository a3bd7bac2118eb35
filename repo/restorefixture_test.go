package repo

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/backend/local"
	"github.com/shadowvault/shadowvault/repo/backend/mem"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// packLayout is how a fixture's chunks lie in its packs.
type packLayout int

const (
	// inOrder: in disk order, as one backup stream stores them.
	inOrder packLayout = iota
	// swapped: neighbours swapped now and then, as parallel savers store
	// them.
	swapped
	// interleaved: another disk's chunks between ours, as two backups at
	// once store them.
	interleaved
)

func (l packLayout) String() string {
	return [...]string{"in-order", "swapped", "interleaved"}[l]
}

// fixtureData is what a fixture's data extents hold.
type fixtureData int

const (
	randomData fixtureData = iota // incompressible: stored raw
	textData                      // compressible: stored zstd
	mixedData                     // both, in runs of a few MiB
)

func (d fixtureData) String() string { return [...]string{"random", "text", "mixed"}[d] }

// restoreFixture is a repository holding the chunks of a synthetic disk,
// the disk's segments and its content.
type restoreFixture struct {
	r    *Repository
	be   *countingBackend
	segs []diskmap.Segment
	want []byte
}

// countingBackend counts the pack reads (GETs on S3) that reach be.
type countingBackend struct {
	backend.Backend
	reads, bytes atomic.Int64
}

func (c *countingBackend) ReadAt(ctx context.Context, h backend.Handle, p []byte, off int64) (int, error) {
	if h.Type == backend.TypePack {
		c.reads.Add(1)
		c.bytes.Add(int64(len(p)))
	}
	return c.Backend.ReadAt(ctx, h, p, off)
}

// openFixtureRepo opens an empty repository on be, closed with tb.
func openFixtureRepo(tb testing.TB, be backend.Backend, opts Options) *Repository {
	tb.Helper()
	ctx := context.Background()
	cfg, _ := NewConfig()
	if err := InitConfig(ctx, be, cfg); err != nil {
		tb.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(tb.TempDir(), "index.db"))
	if err != nil {
		tb.Fatal(err)
	}
	_, opts.ReceiptKey, _ = ed25519.GenerateKey(nil)
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := Open(ctx, be, idx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close(ctx); idx.Close() })
	return r
}

// newRestoreFixture stores a disk of size bytes: data extents of one chunk
// each (64 KiB to 1 MiB), one in 8 a zero run, every 50th chunk repeated
// later, in 16 MiB packs laid out as l. onDisk puts the packs in a local
// directory (else in memory).
func newRestoreFixture(tb testing.TB, size int64, d fixtureData, l packLayout, onDisk bool, opts Options) *restoreFixture {
	tb.Helper()
	var inner backend.Backend = mem.New()
	if onDisk {
		var err error
		if inner, err = local.Open(filepath.Join(tb.TempDir(), "repo")); err != nil {
			tb.Fatal(err)
		}
	}
	f := &restoreFixture{be: &countingBackend{Backend: inner}}
	f.r = openFixtureRepo(tb, f.be, opts)
	rng := mrand.New(mrand.NewPCG(uint64(size), uint64(d)<<8|uint64(l)))
	src := mrand.NewChaCha8([32]byte{byte(d), byte(l)})
	f.want = make([]byte, 0, size)
	ps := &packStore{tb: tb, r: f.r}
	var stored []chunk.ID
	text := d == textData
	for int64(len(f.want)) < size {
		n := min(size-int64(len(f.want)), int64(64<<10+rng.IntN(960<<10)))
		if d == mixedData && rng.IntN(16) == 0 {
			text = !text
		}
		switch {
		case rng.IntN(8) == 0:
			f.segs = append(f.segs, diskmap.Segment{N: n})
			f.want = append(f.want, make([]byte, n)...)
			continue
		case len(stored) > 0 && rng.IntN(50) == 0:
			id := stored[rng.IntN(len(stored))]
			data := ps.raw[id]
			f.segs = append(f.segs, diskmap.Segment{ID: id, N: int64(len(data))})
			f.want = append(f.want, data...)
			continue
		}
		data := make([]byte, n)
		if text {
			for i := 0; i < len(data); {
				i += copy(data[i:], fmt.Sprintf("%08d a line the guest logged, ", rng.IntN(1e8)))
			}
		} else {
			src.Read(data)
		}
		id := chunk.Sum(data)
		ps.add(id, data, l, rng)
		stored = append(stored, id)
		f.segs = append(f.segs, diskmap.Segment{ID: id, N: n})
		f.want = append(f.want, data...)
	}
	ps.flush()
	return f
}

// gen emits the fixture's segments.
func (f *restoreFixture) gen(emit diskmap.Emit) error {
	for _, s := range f.segs {
		if err := emit(s); err != nil {
			return err
		}
	}
	return nil
}

// packStore writes chunks into 16 MiB packs and indexes them.
type packStore struct {
	tb      testing.TB
	r       *Repository
	w       *pack.Writer
	held    []chunk.ID // swapped: a chunk held back to go after the next
	raw     map[chunk.ID][]byte
	foreign int
}

func (ps *packStore) add(id chunk.ID, data []byte, l packLayout, rng *mrand.Rand) {
	if ps.raw == nil {
		ps.raw = make(map[chunk.ID][]byte)
	}
	ps.raw[id] = data
	switch {
	case l == swapped && len(ps.held) == 0 && rng.IntN(3) == 0:
		ps.held = append(ps.held, id)
		return
	case l == interleaved && rng.IntN(2) == 0:
		other := make([]byte, 64<<10+rng.IntN(192<<10))
		ps.foreign++
		copy(other, fmt.Sprintf("foreign chunk %d", ps.foreign))
		ps.put(chunk.Sum(other), other)
	}
	held := ps.held
	ps.held = nil
	ps.put(id, data)
	for _, h := range held {
		ps.put(h, ps.raw[h])
	}
}

func (ps *packStore) put(id chunk.ID, data []byte) {
	if ps.w == nil {
		ps.w = pack.NewWriter(16 << 20)
	}
	ps.w.AddCompress(id, data)
	if ps.w.Size() >= 16<<20 {
		ps.flush()
	}
}

func (ps *packStore) flush() {
	held := ps.held
	ps.held = nil
	for _, h := range held {
		ps.put(h, ps.raw[h])
	}
	if ps.w == nil || ps.w.Count() == 0 {
		return
	}
	ctx := context.Background()
	entries := append([]pack.Entry(nil), ps.w.Entries()...)
	data, name, err := ps.w.Finish()
	if err != nil {
		ps.tb.Fatal(err)
	}
	ps.w = nil
	if err := ps.r.be.Put(ctx, packHandle(name), bytesReader(data), int64(len(data))); err != nil {
		ps.tb.Fatal(err)
	}
	if err := ps.r.idx.AddPack(name, int64(len(data)), indexEntries(entries), time.Now()); err != nil {
		ps.tb.Fatal(err)
	}
}
