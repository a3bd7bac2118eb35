package repo

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
)

// An Import stores a snapshot copied from another repository (a sync,
// package replicate): its chunks arrive as plaintext and are stored as
// this repository stores its own (its chunk IDs, its compression and
// encryption, deduplicated against everything it holds), then Commit
// writes its disk maps, its manifest and its catalogue entry in the
// durability order of a backup. The snapshot keeps the source's id and
// receipt.

// ErrSnapshotExists refuses an import of a snapshot id already listed.
var ErrSnapshotExists = errors.New("snapshot already exists")

// Replica says where a copied snapshot came from.
type Replica struct {
	// Source is the source repository's id.
	Source string `json:"source"`
	// Copied is when this repository committed its copy.
	Copied time.Time `json:"copied"`
}

// Import is a copied snapshot being stored. Save may be called from
// several goroutines at once; Commit and Close once, after the saves.
type Import struct {
	r      *Repository
	source string

	mu   sync.Mutex
	refs []uint64 // prefixes of every chunk saved, for prune; guarded by mu
	deps []*pending
	// late are aliases of chunks this import did not store itself (found
	// indexed, or stored by another saver): recorded once indexed.
	late []lateAlias // guarded by mu
}

type lateAlias struct {
	pe *pending // nil: indexed when found
	a  index.Alias
}

// BeginImport starts an import from source, the id of the repository the
// chunks come from (the key of its replica map).
func (r *Repository) BeginImport(source string) (*Import, error) {
	if source == "" {
		return nil, errors.New("begin import: no source repository id")
	}
	im := &Import{r: r, source: source}
	r.mu.Lock()
	if r.imports == nil {
		r.imports = map[*Import]struct{}{}
	}
	r.imports[im] = struct{}{}
	r.mu.Unlock()
	return im, nil
}

// Save stores the plaintext of source chunk src and returns its ID in
// this repository, and the stored bytes if this call stored it (0: the
// repository had it). data is not retained after Save returns. The
// source-to-target entry of the replica map is committed with the chunk's
// index entry, or after it when the chunk was stored by someone else.
func (im *Import) Save(ctx context.Context, src chunk.ID, data []byte) (chunk.ID, int, error) {
	dst := im.r.codec.IDs.Sum(data)
	im.mu.Lock()
	im.refs = append(im.refs, prefix(dst))
	im.mu.Unlock()
	var alias *index.Alias
	if src != dst {
		alias = &index.Alias{Source: im.source, Src: src, Dst: dst}
	}
	n, pe, err := im.r.packer.saveAs(ctx, dst, data, alias)
	if err != nil {
		return dst, 0, err
	}
	im.mu.Lock()
	if pe != nil {
		im.deps = append(im.deps, pe)
	}
	if alias != nil && n == 0 {
		im.late = append(im.late, lateAlias{pe: pe, a: *alias})
	}
	flush := len(im.late) >= 256
	im.mu.Unlock()
	if flush {
		im.recordLate(false)
	}
	return dst, n, nil
}

// Lookup returns the chunks of this repository that hold source chunks
// srcs, by the replica map of the import's source (ok false: unknown, or
// no longer indexed). With identity, IDs are the same in both
// repositories and the index is asked directly.
func (im *Import) Lookup(srcs []chunk.ID, identity bool, fn func(i int, dst chunk.ID, ok bool)) error {
	if d := im.r.packer.doomed.Load(); d != nil && len(*d) > 0 {
		// A cluster prune dooms packs: a chunk only there is sent again.
		// The index is asked again once the lookup's transaction is over.
		type found struct {
			dst chunk.ID
			ok  bool
		}
		got := make([]found, len(srcs))
		if err := im.lookup(srcs, identity, func(i int, dst chunk.ID, ok bool) { got[i] = found{dst, ok} }); err != nil {
			return err
		}
		for i, f := range got {
			if f.ok {
				ok, err := im.r.packer.has(f.dst)
				if err != nil {
					return err
				}
				f.ok = ok
			}
			fn(i, f.dst, f.ok)
		}
		return nil
	}
	return im.lookup(srcs, identity, fn)
}

func (im *Import) lookup(srcs []chunk.ID, identity bool, fn func(i int, dst chunk.ID, ok bool)) error {
	if !identity {
		return im.r.idx.ReplicaLookup(im.source, srcs, fn)
	}
	missing, err := im.r.idx.Missing(srcs)
	if err != nil {
		return err
	}
	gone := make(map[chunk.ID]bool, len(missing))
	for _, id := range missing {
		gone[id] = true
	}
	for i, id := range srcs {
		fn(i, id, !gone[id])
	}
	return nil
}

// Ref records that the import depends on chunk dst, which Lookup found:
// a prune that starts later keeps it, and one that runs now tracks it as
// it tracks the chunks a saver finds stored.
func (im *Import) Ref(dst chunk.ID) {
	im.mu.Lock()
	im.refs = append(im.refs, prefix(dst))
	im.mu.Unlock()
	p := im.r.packer
	if p.tracking.Load() {
		p.mu.Lock()
		if p.tracked != nil {
			p.tracked[dst] = struct{}{}
		}
		p.mu.Unlock()
	}
}

// recordLate records the late aliases whose chunks are indexed; with wait
// it waits for every one first (never holding im.mu while it waits).
func (im *Import) recordLate(wait bool) {
	im.mu.Lock()
	late := im.late
	im.late = nil
	im.mu.Unlock()
	var ready []index.Alias
	var keep []lateAlias
	for _, la := range late {
		switch {
		case la.pe == nil:
			ready = append(ready, la.a)
		case !wait && !la.pe.settled():
			keep = append(keep, la)
		case la.pe.wait(context.Background()) == nil:
			ready = append(ready, la.a)
		}
	}
	if len(keep) > 0 {
		im.mu.Lock()
		im.late = append(im.late, keep...)
		im.mu.Unlock()
	}
	if err := im.r.idx.PutAliases(ready); err != nil {
		im.r.log.Error("replica map: entries not recorded (a later sync fetches those chunks again)", "source", im.source, "err", err)
	}
}

// settled reports whether the chunk's pack is durable and indexed, or
// failed, without waiting.
func (p *pending) settled() bool {
	select {
	case <-p.added:
	default:
		return false
	}
	if p.err != nil {
		return true
	}
	select {
	case <-p.pack.done:
		return true
	default:
		return false
	}
}

// Close ends the import, committed or not: prune no longer keeps what it
// saved for it.
func (im *Import) Close() {
	im.recordLate(false)
	im.r.mu.Lock()
	delete(im.r.imports, im)
	im.r.mu.Unlock()
}

// ValidSnapshotID reports whether id has the form of a snapshot id (32
// lower-case hex digits), so that a name from another server is safe to
// use as an object name.
func ValidSnapshotID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// DecodeManifest reads a manifest as stored (a source server sends them
// so), checking its magic and version.
func DecodeManifest(data []byte) (*Manifest, error) { return decodeManifest(data) }

// MissingChunks returns those of ids that are not indexed.
func (r *Repository) MissingChunks(ids []chunk.ID) ([]chunk.ID, error) { return r.idx.Missing(ids) }

// ReferencedDiskMap reports whether a listed snapshot names disk map id
// (a replication token reads only those).
func (r *Repository) ReferencedDiskMap(id chunk.ID) bool {
	list, err := r.Snapshots(Filter{})
	if err != nil {
		return false
	}
	for _, m := range list {
		for _, d := range m.Disks {
			if d.DiskMap == id {
				return true
			}
		}
	}
	return false
}

// ReplicaState is what a repository knows of a snapshot of a source.
type ReplicaState int

// Replica states.
const (
	// ReplicaAbsent: never copied here.
	ReplicaAbsent ReplicaState = 1 + iota
	// ReplicaListed: the catalogue lists it.
	ReplicaListed
	// ReplicaForgotten: copied before and forgotten since (this
	// repository's retention); a sync does not copy it again.
	ReplicaForgotten
)

// ReplicaOf tells whether snapshot id of source is here, and whether it
// is protected.
func (r *Repository) ReplicaOf(source, id string) (ReplicaState, bool, error) {
	if _, err := r.Snapshot(id); err == nil {
		prot, err := r.idx.Protected()
		return ReplicaListed, prot[id], err
	} else if !errors.Is(err, ErrUnknownSnapshot) {
		return 0, false, err
	}
	copied, err := r.idx.ReplicaSnapshotCopied(source, id)
	if err != nil || !copied {
		return ReplicaAbsent, false, err
	}
	return ReplicaForgotten, false, nil
}

// Unmap removes the replica map entries of source chunks srcs, after a
// copy that did not verify, so that the next sync fetches them again
// instead of trusting what arrived.
func (im *Import) Unmap(srcs []chunk.ID) error {
	im.recordLate(true)
	return im.r.idx.DeleteAliases(im.source, srcs)
}
