package replicate

import (
	"context"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo"
)

// Source is the repository a sync copies from.
type Source interface {
	// Info names the repository and its chunk ID scheme.
	Info(ctx context.Context) (apiv1.ReplicationInfo, error)
	// Snapshots lists every snapshot, of every host, oldest first.
	Snapshots(ctx context.Context) ([]SourceSnapshot, error)
	// DiskMap returns a disk map's encoding (its name is the BLAKE3 of
	// it; the caller checks).
	DiskMap(ctx context.Context, id chunk.ID) ([]byte, error)
	// WriterMetadata returns a snapshot's writer metadata document.
	WriterMetadata(ctx context.Context, snapshot string) ([]byte, error)
	// Chunks calls fn with the plaintext of each of ids, in order; data
	// is not retained by fn after it returns. At most
	// apiv1.MaxChunksPerRequest IDs at once.
	Chunks(ctx context.Context, ids []chunk.ID, fn func(id chunk.ID, data []byte) error) error
}

// SourceSnapshot is a snapshot of the source.
type SourceSnapshot struct {
	Manifest  *repo.Manifest
	Protected bool
}

// fingerprintInput is what an ID fingerprint hashes.
var fingerprintInput = []byte("shadowvault replication: chunk id scheme, v1")

// Fingerprint is the ID of a fixed string under h: two repositories
// with equal fingerprints give equal content equal IDs. It says nothing
// about a key.
func Fingerprint(h chunk.Hasher) string { return h.Sum(fingerprintInput).String() }

// Scheme is the name of h's ID scheme (apiv1.IDSchemePlain or Keyed).
func Scheme(h chunk.Hasher) string {
	if h.Keyed() {
		return apiv1.IDSchemeKeyed
	}
	return apiv1.IDSchemePlain
}

// InfoOf describes repository r as a source.
func InfoOf(r *repo.Repository) apiv1.ReplicationInfo {
	return apiv1.ReplicationInfo{RepositoryID: r.Config().ID, IDScheme: Scheme(r.IDs()),
		IDFingerprint: Fingerprint(r.IDs()), MaxChunksPerRequest: apiv1.MaxChunksPerRequest}
}
