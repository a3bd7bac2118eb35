package repo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// CheckOptions tune a check.
type CheckOptions struct {
	// ReadDataPercent is the share of packs (0-100) whose chunks are read,
	// decompressed and re-hashed. 0 checks the structure only.
	ReadDataPercent int `json:"read_data_percent"`
}

// CheckData checks the structure (Check) and then re-reads and re-hashes the
// chunks of a random ReadDataPercent of the packs. Each disk that uses a
// damaged chunk is reported by snapshot and disk.
func (r *Repository) CheckData(ctx context.Context, o CheckOptions) (CheckResult, error) {
	res, err := r.Check(ctx)
	if err != nil || o.ReadDataPercent <= 0 {
		return res, err
	}
	r.maintMu.Lock()
	defer r.maintMu.Unlock()
	var packs []index.PackInfo
	if err := r.idx.Packs(func(p index.PackInfo) error { packs = append(packs, p); return nil }); err != nil {
		return res, err
	}
	pct := min(o.ReadDataPercent, 100)
	n := (len(packs)*pct + 99) / 100
	rand.Shuffle(len(packs), func(i, j int) { packs[i], packs[j] = packs[j], packs[i] })
	packs = packs[:n]
	bad, err := r.readPacks(ctx, packs)
	if err != nil {
		return res, fmt.Errorf("check: %w", err)
	}
	res.PacksRead = len(packs)
	if len(bad) == 0 {
		return res, nil
	}
	res.OK = false
	for id, why := range bad {
		res.Problems = append(res.Problems, fmt.Sprintf("chunk %s: %s", id.Short(), why))
	}
	sort.Strings(res.Problems)
	return r.markUsers(ctx, res, bad)
}

// readPacks reads each pack and verifies every chunk the index places in it.
func (r *Repository) readPacks(ctx context.Context, packs []index.PackInfo) (map[chunk.ID]string, error) {
	want := map[chunk.ID][]pack.Entry{}
	for _, p := range packs {
		want[p.ID] = nil
	}
	err := r.idx.ForEachChunk(func(id chunk.ID, loc index.Location) error {
		if _, ok := want[loc.Pack]; ok {
			want[loc.Pack] = append(want[loc.Pack], pack.Entry(loc.Entry))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	bad := map[chunk.ID]string{}
	results := make(chan map[chunk.ID]string, len(packs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, p := range packs {
		g.Go(func() error {
			found := map[chunk.ID]string{}
			data, err := backend.ReadAll(gctx, r.be, backend.Handle{Type: backend.TypePack, Name: p.ID.String()})
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				for _, e := range want[p.ID] {
					found[e.ID] = "pack " + p.ID.Short() + " unreadable: " + err.Error()
				}
				results <- found
				return nil
			}
			for _, e := range want[p.ID] {
				if e.Offset+uint64(e.Length) > uint64(len(data)) {
					found[e.ID] = "outside pack " + p.ID.Short()
					continue
				}
				if _, err := r.codec.Decode(nil, data[e.Offset:e.Offset+uint64(e.Length)], e); err != nil {
					found[e.ID] = err.Error()
				}
			}
			results <- found
			return nil
		})
	}
	err = g.Wait()
	close(results)
	for m := range results {
		for id, why := range m {
			bad[id] = why
		}
	}
	return bad, err
}

// markUsers adds every snapshot disk that references a bad chunk.
func (r *Repository) markUsers(ctx context.Context, res CheckResult, bad map[chunk.ID]string) (CheckResult, error) {
	snaps, err := r.Snapshots(Filter{})
	if err != nil {
		return res, err
	}
	have := map[[2]string]bool{}
	for _, d := range res.Damaged {
		have[[2]string{d.Snapshot, d.Disk}] = true
	}
	for _, m := range snaps {
		for _, d := range m.Disks {
			if have[[2]string{m.ID, d.Name}] {
				continue
			}
			dm, err := r.LoadDiskMap(ctx, d.DiskMap)
			if err != nil {
				continue // reported by the structure check
			}
			var reason string
			dm.Chunks(func(id chunk.ID) {
				if why, ok := bad[id]; ok && reason == "" {
					reason = "chunk " + id.Short() + ": " + why
				}
			})
			if reason != "" {
				res.Damaged = append(res.Damaged, DamagedDisk{Snapshot: m.ID, Disk: d.Name, Reason: reason})
				have[[2]string{m.ID, d.Name}] = true
			}
		}
	}
	sort.Slice(res.Damaged, func(i, j int) bool {
		a, b := res.Damaged[i], res.Damaged[j]
		return a.Snapshot < b.Snapshot || a.Snapshot == b.Snapshot && a.Disk < b.Disk
	})
	return res, nil
}
