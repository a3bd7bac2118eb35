//go:build linux

package bench

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/restic/chunker"
	"github.com/zeebo/blake3"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	svingest "github.com/shadowvault/shadowvault/ingest"
	"github.com/shadowvault/shadowvault/repo"
	"github.com/shadowvault/shadowvault/repo/backend/local"
	"github.com/shadowvault/shadowvault/vhd"
)

// pruneRepoSpec describes a repository built for the prune benchmark:
// VMs virtual machines (two per host), each backed up daily for Days
// days. A VM's disk is made of 64 KiB regions; every day a share Change
// of them is rewritten with new content, and a share of them is never
// written (zero). The chunker and the packs are small (about 1.5 KiB
// chunks, 256 KiB packs), so that a repository of a million chunks is a
// few GB and has the number of packs a repository of that many default
// sized chunks (128 KiB, 16 MiB packs) has.
type pruneRepoSpec struct {
	Version  int     `json:"version"` // of the generator: a change rebuilds the cache
	Chunks   int     `json:"chunks"`  // distinct chunks wanted (roughly)
	VMs      int     `json:"vms"`
	Days     int     `json:"days"`
	Change   float64 `json:"change"`
	PackSize int     `json:"pack_size"`
}

// pruneRepoVersion is bumped whenever the generator changes what it builds.
const pruneRepoVersion = 2

const (
	regionSize = 64 << 10
	zeroShare  = 0.05 // of a disk's regions, never written
	// avgChunk is the mean chunk of pruneChunker on this content, measured.
	avgChunk = 1650
)

// pruneChunker is the repository's chunker: 512 B to 8 KiB, about 1.5 KiB.
var pruneChunker = chunk.Params{Polynomial: chunker.Pol(0x3DA3358B4DC173), MinSize: 512, AvgBits: 10, MaxSize: 8 << 10}

func newPruneRepoSpec(chunks int) pruneRepoSpec {
	return pruneRepoSpec{Version: pruneRepoVersion, Chunks: chunks, VMs: 4, Days: 8, Change: 0.1, PackSize: 256 << 10}
}

// diskSize is the size of each VM's disk, so that the repository holds
// about s.Chunks distinct chunks. Every changed region also changes the
// chunk that straddles each of its ends.
func (s pruneRepoSpec) diskSize() int64 {
	perRegion := float64(regionSize)/avgChunk + 2
	regions := float64(s.Chunks) / (float64(s.VMs) * (1 - zeroShare) * perRegion * (1 + float64(s.Days-1)*s.Change))
	return int64(max(regions, 16)) * regionSize
}

// pruneRepoBuilt is what the built repository holds (built.json).
type pruneRepoBuilt struct {
	Spec      pruneRepoSpec `json:"spec"`
	Chunks    int           `json:"chunks"`
	Packs     int           `json:"packs"`
	PackBytes int64         `json:"pack_bytes"`
	Snapshots int           `json:"snapshots"`
	DiskBytes int64         `json:"disk_bytes"` // each VM's virtual disk
	Seconds   float64       `json:"seconds"`    // to build it
}

// pruneRepo returns the directory of a built repository of spec (repo/
// and state/, as `shadowvault serve --repo DIR/repo --state DIR/state`
// reads them), building it in the cache if it is not there.
func pruneRepo(ctx context.Context, spec pruneRepoSpec, logf func(string, ...any)) (string, pruneRepoBuilt, error) {
	dir := filepath.Join(cacheDir(), "prune-repo", fmt.Sprintf("chunks-%d", spec.Chunks))
	var built pruneRepoBuilt
	if data, err := os.ReadFile(filepath.Join(dir, "built.json")); err == nil {
		if json.Unmarshal(data, &built) == nil && built.Spec == spec {
			return dir, built, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", built, err
	}
	logf("building a prune repository of about %d chunks in %s", spec.Chunks, dir)
	start := time.Now()
	built, err := buildPruneRepo(ctx, dir, spec, logf)
	if err != nil {
		return "", built, fmt.Errorf("build prune repository: %w", err)
	}
	built.Seconds = time.Since(start).Seconds()
	data, _ := json.MarshalIndent(built, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "built.json"), data, 0o644); err != nil {
		return "", built, err
	}
	logf("built in %.0fs: %+v", built.Seconds, built)
	return dir, built, nil
}

// buildPruneRepo backs up every VM for every day in process, through the
// repository's own upload path (sessions, ingest, complete), with a clock
// that starts Days+1 days ago, so that the packs are past the grace window.
func buildPruneRepo(ctx context.Context, dir string, spec pruneRepoSpec, logf func(string, ...any)) (pruneRepoBuilt, error) {
	built := pruneRepoBuilt{Spec: spec, DiskBytes: spec.diskSize()}
	be, err := local.Open(filepath.Join(dir, "repo"))
	if err != nil {
		return built, err
	}
	cfg, err := repo.NewConfig()
	if err != nil {
		return built, err
	}
	cfg.Chunker, cfg.PackSize = pruneChunker, spec.PackSize
	if err := repo.InitConfig(ctx, be, cfg); err != nil {
		return built, err
	}
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return built, err
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return built, err
	}
	if err := os.WriteFile(filepath.Join(state, "receipt.key"), seed, 0o600); err != nil {
		return built, err
	}
	idx, err := index.Open(filepath.Join(state, "index.db"))
	if err != nil {
		return built, err
	}
	defer idx.Close()
	t0 := time.Now().Add(-time.Duration(spec.Days+1) * 24 * time.Hour).Truncate(24 * time.Hour).Add(22 * time.Hour)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	r, err := repo.Open(ctx, be, idx, repo.Options{
		ReceiptKey: ed25519.NewKeyFromSeed(seed), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return time.Unix(0, clock.Load()) },
	})
	if err != nil {
		return built, err
	}
	for day := 0; day < spec.Days; day++ {
		for vm := 0; vm < spec.VMs; vm++ {
			clock.Store(t0.Add(time.Duration(day)*24*time.Hour + time.Duration(vm)*10*time.Minute).UnixNano())
			if err := backupDay(ctx, r, spec, vm, day); err != nil {
				r.Close(ctx)
				return built, fmt.Errorf("VM %d day %d: %w", vm+1, day+1, err)
			}
			built.Snapshots++
		}
		logf("prune repository: day %d of %d backed up", day+1, spec.Days)
	}
	if err := r.Close(ctx); err != nil {
		return built, err
	}
	built.Chunks, built.Packs, built.PackBytes, err = idx.Counts()
	return built, err
}

// backupDay stores one VM's disk as it is on one day.
func backupDay(ctx context.Context, r *repo.Repository, spec pruneRepoSpec, vm, day int) error {
	s, err := r.OpenSession(repo.SessionInfo{Host: fmt.Sprintf("HV%02d", vm/2+1), VM: fmt.Sprintf("VM%d", vm+1),
		BackupType: "full", Consistency: "application"})
	if err != nil {
		return err
	}
	up, err := s.BeginDisk("disk0.raw")
	if err != nil {
		return err
	}
	size := spec.diskSize()
	res, err := svingest.Disk(ctx, &dayDisk{spec: spec, vm: vm, day: day, size: size}, up,
		svingest.Options{Params: r.Config().Chunker, Format: vhd.FormatRaw})
	if err != nil {
		up.Cancel(err)
		return err
	}
	if err := up.Finish(&repo.Disk{Format: res.Format, Map: res.Map, Container: res.Container,
		StreamBytes: res.StreamBytes, StreamBLAKE3: res.StreamBLAKE3}); err != nil {
		return err
	}
	_, err = s.Complete(ctx)
	return err
}

// dayDisk reads a VM's disk as it is on a day: region by region, each
// region the content of the last day (up to this one) that rewrote it.
type dayDisk struct {
	spec     pruneRepoSpec
	vm, day  int
	size     int64
	off      int64
	buf      [regionSize]byte
	bufStart int64 // the region in buf, once filled
	filled   bool
}

func (d *dayDisk) Read(p []byte) (int, error) {
	if d.off >= d.size {
		return 0, io.EOF
	}
	region := d.off / regionSize
	if !d.filled || d.bufStart != region {
		d.fill(region)
	}
	n := copy(p, d.buf[d.off-region*regionSize:])
	n = int(min(int64(n), d.size-d.off))
	d.off += int64(n)
	return n, nil
}

// fill puts a region's content in buf: zeros for a region never written,
// else pseudo-random bytes of its generation; half the regions hold
// bytes of 6 random bits (compressible), the others incompressible.
func (d *dayDisk) fill(region int64) {
	d.bufStart, d.filled = region, true
	if d.roll(region, -1) < zeroShare {
		clear(d.buf[:])
		return
	}
	gen := d.day
	for gen > 0 && d.roll(region, gen) >= d.spec.Change {
		gen--
	}
	var key [16]byte
	binary.LittleEndian.PutUint32(key[0:], uint32(d.vm))
	binary.LittleEndian.PutUint32(key[4:], uint32(gen))
	binary.LittleEndian.PutUint64(key[8:], uint64(region))
	block, _ := aes.NewCipher(key[:])
	clear(d.buf[:])
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(d.buf[:], d.buf[:])
	if region%2 == 1 {
		for i := range d.buf {
			d.buf[i] &= 0x3f
		}
	}
}

// roll is a uniform number in [0, 1) for (VM, region, day).
func (d *dayDisk) roll(region int64, day int) float64 {
	var in [20]byte
	binary.LittleEndian.PutUint32(in[0:], uint32(d.vm))
	binary.LittleEndian.PutUint64(in[4:], uint64(region))
	binary.LittleEndian.PutUint64(in[12:], uint64(int64(day)))
	sum := blake3.Sum256(in[:])
	return float64(binary.LittleEndian.Uint64(sum[:])>>11) / (1 << 53)
}

// errNoRepo is returned when a cached repository lacks its state.
var errNoRepo = errors.New("no repository")

// clonePruneRepo copies a built repository to dst for one run: the
// objects in repo/ are hard links (a backend never writes a file in
// place: new objects are renamed into place, removals unlink), the state
// (the index, modified in place) is copied.
func clonePruneRepo(src, dst string) error {
	if _, err := os.Stat(filepath.Join(src, "state", "index.db")); err != nil {
		return fmt.Errorf("%s: %w", src, errNoRepo)
	}
	return filepath.WalkDir(src, func(path string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case de.IsDir():
			return os.MkdirAll(to, 0o700)
		case rel == "built.json":
			return nil
		case filepath.Dir(rel) != "state" && os.Link(path, to) == nil:
			return nil
		}
		return copyFile(path, to)
	})
}
