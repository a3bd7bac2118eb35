package torture

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"

	"github.com/zeebo/blake3"
)

// A disk's bytes are never kept: a diskSpec describes them and render
// regenerates them, so the test can remember every disk it ever sent.

type segKind uint8

const (
	segShared segKind = iota // a block of the shared pool: dedups across VMs
	segUnique                // random bytes from a seed of its own
	segRepeat                // one byte value, repeated
	segZero                  // zeros (zero extents where 64 KiB blocks are all zero)
)

type segment struct {
	kind segKind
	n    int    // length in bytes
	seed uint64 // segUnique
	b    byte   // segRepeat
	idx  int    // segShared: the pool block
	off  int    // segShared: where in the block the segment starts
}

// diskSpec is one disk as sent: its name, size, content and BLAKE3.
type diskSpec struct {
	name   string
	size   int
	segs   []segment
	blake3 string // hex BLAKE3 of the rendered bytes
	// sent describes an incremental upload of the disk: the body that went
	// up instead of the disk's bytes. nil for a full upload.
	sent *incrementalBody
}

// incrementalBody is what an incremental upload sent.
type incrementalBody struct {
	base    string
	bytes   int64
	blake3  string // hex BLAKE3 of the body
	changed int64
}

const (
	minDisk = 64 << 10
	maxDisk = 3 << 20
)

// pool is the content several VMs share, derived from the run's seed.
type pool struct {
	blocks [][]byte
}

func newPool(seed uint64) *pool {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	p := &pool{}
	words := []string{"NTFS", "kernel32.dll", "System32", "\x00\x00", "MZ\x90\x00", "registry", "hive", "SQL", "page", "log", "Exchange", "\r\n"}
	for i := 0; i < 12; i++ {
		n := (256 + rng.IntN(513)) << 10 // 256-768 KiB
		b := make([]byte, n)
		if i%2 == 0 {
			fillRandom(b, rng.Uint64())
		} else { // compressible, text-like
			for j := 0; j < n; {
				j += copy(b[j:], words[rng.IntN(len(words))])
			}
		}
		p.blocks = append(p.blocks, b)
	}
	return p
}

// fillRandom fills b with bytes that depend only on seed.
func fillRandom(b []byte, seed uint64) {
	src := rand.NewPCG(seed, 0xd15c)
	var w [8]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(w[:], src.Uint64())
		copy(b[i:], w[:])
	}
}

// newDisk draws a disk of 64 KiB to 3 MiB (sizes log-uniform, whole
// sectors) mixing shared, unique, repeated-byte and zero regions.
func (p *pool) newDisk(rng *rand.Rand, name string) *diskSpec {
	lo, hi := math.Log(minDisk), math.Log(maxDisk)
	size := int(math.Exp(lo+rng.Float64()*(hi-lo))) &^ 511
	d := &diskSpec{name: name, size: size}
	switch k := rng.IntN(12); {
	case k == 0:
		// One repeated byte, 64-192 KiB: a single chunk that compresses to
		// a few bytes, alone in its pack when nothing else is new.
		d.size = (64 + rng.IntN(129)) << 10
		d.segs = []segment{{kind: segRepeat, n: d.size, b: byte(1 + rng.IntN(255))}}
		return d.sum(p)
	case k <= 2:
		// A mostly empty disk: repeated-byte runs between zero blocks (which
		// force chunk cuts) make chunks that compress to a few bytes, and
		// packs that are mostly trailer.
		for total := 0; total < size; {
			s := segment{kind: segZero, n: (1 + rng.IntN(4)) << 16}
			if len(d.segs)%2 == 1 {
				s = segment{kind: segRepeat, n: (4 + rng.IntN(125)) << 10, b: byte(1 + rng.IntN(255))}
			}
			s.n = min(s.n, size-total)
			d.segs = append(d.segs, s)
			total += s.n
		}
		return d.sum(p)
	}
	for total := 0; total < size; {
		var s segment
		switch k := rng.IntN(100); {
		case k < 40:
			s.kind, s.idx = segShared, rng.IntN(len(p.blocks))
			if rng.IntN(4) == 0 { // the same files at another offset
				s.off = rng.IntN(len(p.blocks[s.idx])/2) &^ 511
			}
			s.n = len(p.blocks[s.idx]) - s.off
		case k < 70:
			s.kind, s.n, s.seed = segUnique, (16+rng.IntN(497))<<10, rng.Uint64()
		case k < 85:
			s.kind, s.n, s.b = segRepeat, (4+rng.IntN(253))<<10, byte(1+rng.IntN(255))
		default:
			s.kind, s.n = segZero, (64+rng.IntN(449))<<10
		}
		s.n = min(s.n, size-total)
		d.segs = append(d.segs, s)
		total += s.n
	}
	return d.sum(p)
}

func (d *diskSpec) sum(p *pool) *diskSpec {
	sum := blake3.Sum256(p.render(d))
	d.blake3 = hex.EncodeToString(sum[:])
	return d
}

// render regenerates a disk's bytes.
func (p *pool) render(d *diskSpec) []byte {
	b := make([]byte, d.size)
	at := 0
	for _, s := range d.segs {
		seg := b[at : at+s.n]
		switch s.kind {
		case segShared:
			copy(seg, p.blocks[s.idx][s.off:])
		case segUnique:
			fillRandom(seg, s.seed)
		case segRepeat:
			for i := range seg {
				seg[i] = s.b
			}
		case segZero: // already zero
		}
		at += s.n
	}
	return b
}
