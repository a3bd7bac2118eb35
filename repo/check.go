package repo

import (
	"context"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// CheckResult is the outcome of a repository check.
type CheckResult struct {
	// OK is true when no problem was found.
	OK bool `json:"ok"`
	// Damaged lists the disks that cannot be restored in full, once each,
	// ordered by snapshot and disk.
	Damaged []DamagedDisk `json:"damaged"`
	// Problems describes everything found, one line each.
	Problems []string `json:"problems"`
	// UnlistedManifests are snapshot manifests in the backend that the
	// catalogue does not list (a snapshot the index lost), and
	// MissingManifests are listed snapshots whose manifest is not in the
	// backend (a rebuilt index would lose them). Either makes OK false.
	UnlistedManifests []string `json:"unlisted_manifests"`
	MissingManifests  []string `json:"missing_manifests"`
	// What was checked.
	Snapshots int `json:"snapshots"`
	Disks     int `json:"disks"`
	Chunks    int `json:"chunks"`     // distinct chunks referenced
	Packs     int `json:"packs"`      // packs holding them
	PacksRead int `json:"packs_read"` // packs whose data was read (read-data)
}

// DamagedDisk names a disk of a snapshot that cannot be restored in full.
type DamagedDisk struct {
	Snapshot string `json:"snapshot"`
	Disk     string `json:"disk"`
	Reason   string `json:"reason"` // the first problem found
}

type diskRef struct{ snapshot, disk string }

// checker collects the references of every snapshot disk and the damage.
type checker struct {
	mu       sync.Mutex                           // guards damaged and problems
	damaged  map[diskRef]string                   // the first reason per disk
	wanted   map[chunk.ID]map[chunk.ID]pack.Entry // pack -> chunk -> entry
	users    map[chunk.ID]map[diskRef]struct{}    // pack -> disks reading it
	seen     map[chunk.ID]chunk.ID                // chunk -> pack
	problems []string                             // guarded by mu; at most maxProblems
	more     int                                  // guarded by mu; problems beyond maxProblems
}

// maxProblems caps the problem lines of a result.
const maxProblems = 1000

// problemLocked records one problem line.
func (c *checker) problemLocked(format string, args ...any) {
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	} else {
		c.more++
	}
}

func (c *checker) damage(d diskRef, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.damaged[d]; !ok {
		c.damaged[d] = reason
	}
	c.problemLocked("snapshot %s disk %s: %s", d.snapshot, d.disk, reason)
}

// Check checks the repository's structure: every snapshot's manifest is in
// the backend, every chunk its disk maps reference is indexed, and the pack
// the index names exists in the backend with that chunk in its trailer at
// the same place. It does not read chunk data. A storage error stops the
// check and is returned; damage is reported in the result.
func (r *Repository) Check(ctx context.Context) (CheckResult, error) {
	// A prune deletes packs: it must not run under a check.
	r.maintMu.Lock()
	defer r.maintMu.Unlock()
	snaps, err := r.Snapshots(Filter{})
	if err != nil {
		return CheckResult{}, fmt.Errorf("check: %w", err)
	}
	c := &checker{
		damaged: map[diskRef]string{}, wanted: map[chunk.ID]map[chunk.ID]pack.Entry{},
		users: map[chunk.ID]map[diskRef]struct{}{}, seen: map[chunk.ID]chunk.ID{},
	}
	res := CheckResult{Snapshots: len(snaps), UnlistedManifests: []string{}, MissingManifests: []string{}}
	for _, m := range snaps {
		h := backend.Handle{Type: backend.TypeSnapshot, Name: m.ID}
		if _, err := r.be.Stat(ctx, h); errors.Is(err, backend.ErrNotFound) {
			res.MissingManifests = append(res.MissingManifests, m.ID)
			c.mu.Lock()
			c.problemLocked("snapshot %s: manifest missing from the backend: a rebuilt index would lose it", m.ID)
			c.mu.Unlock()
		} else if err != nil {
			return CheckResult{}, fmt.Errorf("check: %w", err)
		}
		if m.WriterMetadata != nil {
			if _, err := r.be.Stat(ctx, metadataHandle(m.ID)); errors.Is(err, backend.ErrNotFound) {
				c.mu.Lock()
				c.problemLocked("snapshot %s: writer metadata document missing from the backend", m.ID)
				c.mu.Unlock()
			} else if err != nil {
				return CheckResult{}, fmt.Errorf("check: %w", err)
			}
		}
		for _, d := range m.Disks {
			res.Disks++
			if err := r.checkDiskMap(ctx, c, diskRef{m.ID, d.Name}, d.DiskMap); err != nil {
				return CheckResult{}, fmt.Errorf("check: %w", err)
			}
		}
	}
	unlisted, err := r.unlistedManifests(ctx)
	if err != nil {
		return CheckResult{}, fmt.Errorf("check: %w", err)
	}
	sort.Strings(unlisted)
	for _, id := range unlisted {
		res.UnlistedManifests = append(res.UnlistedManifests, id)
		c.mu.Lock()
		c.problemLocked("snapshot %s: manifest in the backend but not in the catalogue: restart the server or run repair index to list it", id)
		c.mu.Unlock()
	}
	res.Chunks, res.Packs = len(c.seen), len(c.wanted)
	if err := r.checkPacks(ctx, c); err != nil {
		return CheckResult{}, fmt.Errorf("check: %w", err)
	}
	res.Problems = append([]string{}, c.problems...)
	if c.more > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("and %d more problems", c.more))
	}
	res.Damaged = []DamagedDisk{}
	for d, reason := range c.damaged {
		res.Damaged = append(res.Damaged, DamagedDisk{Snapshot: d.snapshot, Disk: d.disk, Reason: reason})
	}
	sort.Slice(res.Damaged, func(i, j int) bool {
		a, b := res.Damaged[i], res.Damaged[j]
		return a.Snapshot < b.Snapshot || a.Snapshot == b.Snapshot && a.Disk < b.Disk
	})
	res.OK = len(res.Problems) == 0
	return res, nil
}

// checkDiskMap loads one disk map and looks up every chunk it references.
func (r *Repository) checkDiskMap(ctx context.Context, c *checker, d diskRef, id chunk.ID) error {
	dm, err := r.LoadDiskMap(ctx, id)
	if errors.Is(err, backend.ErrNotFound) || errors.Is(err, diskmap.ErrCorrupt) {
		c.damage(d, err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	var lookupErr error
	dm.Chunks(func(cid chunk.ID) {
		if lookupErr != nil {
			return
		}
		packID, ok := c.seen[cid]
		if !ok {
			loc, found, err := r.idx.Lookup(cid)
			if err != nil {
				lookupErr = err
				return
			}
			if !found {
				c.damage(d, fmt.Sprintf("chunk %s: %v", cid.Short(), ErrMissingChunk))
				return
			}
			packID = loc.Pack
			c.seen[cid] = packID
			if c.wanted[packID] == nil {
				c.wanted[packID] = map[chunk.ID]pack.Entry{}
				c.users[packID] = map[diskRef]struct{}{}
			}
			c.wanted[packID][cid] = pack.Entry(loc.Entry)
		}
		c.users[packID][d] = struct{}{}
	})
	return lookupErr
}

// checkPacks reads the trailer of every referenced pack and compares it
// with the index.
func (r *Repository) checkPacks(ctx context.Context, c *checker) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rebuildParallel)
	for packID, want := range c.wanted {
		users := c.users[packID]
		g.Go(func() error {
			reason, err := r.checkPack(gctx, packID, want)
			if err != nil || reason == "" {
				return err
			}
			for d := range users {
				c.damage(d, reason)
			}
			return nil
		})
	}
	return g.Wait()
}

// checkPack returns why the pack does not hold what the index says, or "".
func (r *Repository) checkPack(ctx context.Context, id chunk.ID, want map[chunk.ID]pack.Entry) (string, error) {
	fi, err := r.be.Stat(ctx, packHandle(id))
	if errors.Is(err, backend.ErrNotFound) {
		return fmt.Sprintf("pack %s missing from the backend", id.Short()), nil
	}
	if err != nil {
		return "", err
	}
	entries, err := readPackTrailer(ctx, r.be, r.codec, fi)
	if errors.Is(err, pack.ErrCorrupt) || errors.Is(err, backend.ErrNotFound) {
		return err.Error(), nil
	}
	if err != nil {
		return "", err
	}
	have := make(map[chunk.ID]pack.Entry, len(entries))
	for _, e := range entries {
		have[e.ID] = e
	}
	for cid, e := range want {
		if got, ok := have[cid]; !ok || got != e {
			return fmt.Sprintf("pack %s: chunk %s not in its trailer where the index says", id.Short(), cid.Short()), nil
		}
	}
	return "", nil
}
