package replicate

import (
	"context"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/repo"
)

// Target is the repository a sync copies to.
type Target interface {
	// Fingerprint is the target's chunk ID fingerprint (Fingerprint).
	Fingerprint(ctx context.Context) (string, error)
	// Has tells whether the target lists snapshot id of source (and
	// whether it is protected there), or copied it before and forgot it.
	Has(ctx context.Context, source, id string) (repo.ReplicaState, bool, error)
	// Protect marks the target's copy of snapshot id of source protected.
	Protect(ctx context.Context, source, id string) error
	// Begin starts storing one snapshot copied from the source src
	// describes.
	Begin(ctx context.Context, src apiv1.ReplicationInfo) (Import, error)
}

// Import stores one snapshot on a target (a repo.Import, or one held by a
// push target over HTTP). Save is called from several goroutines at once.
type Import interface {
	// Lookup finds the target's chunk for each source ID (identity: both
	// compute IDs alike).
	Lookup(ctx context.Context, srcs []chunk.ID, identity bool, fn func(i int, dst chunk.ID, ok bool)) error
	// Ref records a dependency on a chunk Lookup found.
	Ref(dst chunk.ID)
	// Save stores a chunk's plaintext and returns its target ID, and the
	// bytes stored (0: the target had it).
	Save(ctx context.Context, src chunk.ID, data []byte) (chunk.ID, int, error)
	// Settle makes what was saved durable and its map entries recorded.
	Settle(ctx context.Context) error
	// Commit stores the disk maps, manifest and catalogue entry.
	Commit(ctx context.Context, m *repo.Manifest, maps []*diskmap.Map, doc []byte, protect bool) error
	// Close ends the import.
	Close()
}

// Local is a Target over a repository opened in this process.
type Local struct{ R *repo.Repository }

var _ Target = Local{}

// Fingerprint is the repository's ID fingerprint.
func (l Local) Fingerprint(context.Context) (string, error) { return Fingerprint(l.R.IDs()), nil }

// Has looks id up in the catalogue and the record of copies.
func (l Local) Has(_ context.Context, source, id string) (repo.ReplicaState, bool, error) {
	return l.R.ReplicaOf(source, id)
}

// Protect marks id protected.
func (l Local) Protect(ctx context.Context, _, id string) error {
	return l.R.SetProtected(ctx, id, true)
}

// Begin starts a repo.Import.
func (l Local) Begin(_ context.Context, src apiv1.ReplicationInfo) (Import, error) {
	im, err := l.R.BeginImport(src.RepositoryID)
	if err != nil {
		return nil, err
	}
	return localImport{im}, nil
}

// localImport is a repo.Import as an Import.
type localImport struct{ *repo.Import }

// Lookup asks the repository's index and replica map.
func (l localImport) Lookup(_ context.Context, srcs []chunk.ID, identity bool, fn func(int, chunk.ID, bool)) error {
	return l.Import.Lookup(srcs, identity, fn)
}
