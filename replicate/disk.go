package replicate

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
)

// ErrBadChunk is returned for a chunk from the source that does not match
// what its disk map and ID say.
var ErrBadChunk = errors.New("chunk from the source does not check")

// lookupGroup is how many source IDs are looked up on the target in one
// read transaction.
const lookupGroup = 4096

// disk copies the chunks of one disk the target lacks and returns its
// disk map rewritten to the target's chunk IDs.
func (cp *copier) disk(ctx context.Context, im Import, d repo.ManifestDisk) (*diskmap.Map, error) {
	raw, err := cp.src.DiskMap(ctx, d.DiskMap)
	if err != nil {
		return nil, fmt.Errorf("disk map: %w", err)
	}
	if chunk.Sum(raw) != d.DiskMap {
		return nil, fmt.Errorf("disk map %s: %w: name does not match content", d.DiskMap.Short(), diskmap.ErrCorrupt)
	}
	dm, err := diskmap.Decode(raw)
	if err != nil {
		return nil, err
	}
	raw = nil
	lengths, order, err := chunkLengths(dm)
	if err != nil {
		return nil, err
	}
	if cp.o.Verify {
		cp.srcIDs = append(cp.srcIDs, order...)
	}
	trans := make(map[chunk.ID]chunk.ID, len(order))
	var need []chunk.ID
	for start := 0; start < len(order); start += lookupGroup {
		group := order[start:min(start+lookupGroup, len(order))]
		err := im.Lookup(ctx, group, cp.identity, func(i int, dst chunk.ID, ok bool) {
			if !ok {
				need = append(need, group[i])
				return
			}
			trans[group[i]] = dst
			im.Ref(dst)
			cp.c.skipped.Add(1)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := cp.transfer(ctx, im, need, lengths, trans); err != nil {
		return nil, err
	}
	return rewrite(dm, trans)
}

// chunkLengths returns each distinct chunk of dm with its length, and the
// chunks in the order they first appear.
func chunkLengths(dm *diskmap.Map) (map[chunk.ID]int64, []chunk.ID, error) {
	lengths := map[chunk.ID]int64{}
	var order []chunk.ID
	add := func(id chunk.ID, n int64) error {
		if old, ok := lengths[id]; ok {
			if old != n {
				return fmt.Errorf("%w: chunk %s has lengths %d and %d", diskmap.ErrCorrupt, id.Short(), old, n)
			}
			return nil
		}
		if n <= 0 || n > maxChunk {
			return fmt.Errorf("%w: chunk %s of %d bytes", diskmap.ErrCorrupt, id.Short(), n)
		}
		lengths[id] = n
		order = append(order, id)
		return nil
	}
	for _, e := range dm.Extents {
		if e.Kind == diskmap.ExtentData {
			if err := add(e.ID, e.Length); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, p := range dm.Recipe {
		if p.Kind == diskmap.PieceData {
			if err := add(p.ID, p.Length); err != nil {
				return nil, nil, err
			}
		}
	}
	return lengths, order, nil
}

// batchSaver is an Import that stores a batch of chunks in one call (a
// push target: one request per batch instead of one per chunk).
type batchSaver interface {
	SaveBatch(ctx context.Context, srcs []chunk.ID, data [][]byte) ([]chunk.ID, int64, error)
}

// transfer fetches need from the source in batches, several in flight,
// checks each chunk and saves it on the target, recording its target ID
// in trans.
func (cp *copier) transfer(ctx context.Context, im Import, need []chunk.ID, lengths map[chunk.ID]int64, trans map[chunk.ID]chunk.ID) error {
	var mu sync.Mutex // guards trans while the batches run
	record := func(src, dst chunk.ID, n int, stored int64) error {
		if cp.identity && dst != src {
			return fmt.Errorf("%w: chunk %s: content does not match its ID", ErrBadChunk, src.Short())
		}
		mu.Lock()
		trans[src] = dst
		mu.Unlock()
		cp.c.sent.Add(1)
		cp.c.bytesSent.Add(int64(n))
		cp.c.stored.Add(stored)
		return nil
	}
	bs, batched := im.(batchSaver)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(cp.o.Parallel)
	for start := 0; start < len(need); start += cp.o.Batch {
		batch := need[start:min(start+cp.o.Batch, len(need))]
		g.Go(func() error {
			next := 0
			var held [][]byte // a batchSaver's chunks, copied
			err := cp.src.Chunks(ctx, batch, func(id chunk.ID, data []byte) error {
				if next >= len(batch) || id != batch[next] {
					return fmt.Errorf("%w: chunk %s out of order", ErrBadChunk, id.Short())
				}
				next++
				if err := cp.check(ctx, id, data, lengths[id]); err != nil {
					return err
				}
				if batched {
					held = append(held, append([]byte(nil), data...))
					return nil
				}
				dst, stored, err := im.Save(ctx, id, data)
				if err != nil {
					return err
				}
				return record(id, dst, len(data), int64(stored))
			})
			if err == nil && next != len(batch) {
				err = fmt.Errorf("%w: %d of %d chunks sent", ErrBadChunk, next, len(batch))
			}
			if err == nil && batched {
				var dsts []chunk.ID
				var stored int64
				if dsts, stored, err = bs.SaveBatch(ctx, batch, held); err == nil {
					for i, dst := range dsts {
						if err = record(batch[i], dst, len(held[i]), 0); err != nil {
							break
						}
					}
					cp.c.stored.Add(stored)
				}
			}
			if err == nil && cp.o.Progress != nil {
				cp.o.Progress(cp.c.stats())
			}
			return err
		})
	}
	return g.Wait()
}

// check checks one chunk from the source against its disk map and, when
// it can, its ID, and paces the transfer.
func (cp *copier) check(ctx context.Context, id chunk.ID, data []byte, want int64) error {
	if int64(len(data)) != want {
		return fmt.Errorf("%w: chunk %s: %d bytes, the disk map says %d", ErrBadChunk, id.Short(), len(data), want)
	}
	if err := cp.limit.Wait(ctx, len(data)); err != nil {
		return err
	}
	if cp.checkPlain && chunk.Sum(data) != id {
		return fmt.Errorf("%w: chunk %s: content does not match its ID", ErrBadChunk, id.Short())
	}
	return nil
}

// maxChunk bounds a chunk's length in a disk map from the source.
const maxChunk = 64 << 20

// rewrite replaces every chunk ID of dm by its target ID, in place.
func rewrite(dm *diskmap.Map, trans map[chunk.ID]chunk.ID) (*diskmap.Map, error) {
	out := dm
	for i, e := range out.Extents {
		if e.Kind == diskmap.ExtentData {
			dst, ok := trans[e.ID]
			if !ok {
				return nil, fmt.Errorf("chunk %s: not copied", e.ID.Short())
			}
			out.Extents[i].ID = dst
		}
	}
	for i, p := range out.Recipe {
		if p.Kind == diskmap.PieceData {
			dst, ok := trans[p.ID]
			if !ok {
				return nil, fmt.Errorf("chunk %s: not copied", p.ID.Short())
			}
			out.Recipe[i].ID = dst
		}
	}
	return out, nil
}
