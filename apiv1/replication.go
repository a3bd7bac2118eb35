package apiv1

import "encoding/json"

// Replication: a target server copies snapshots from a source server (a
// sync job, POST /api/v1/sync on the target). The target reads the
// source through the read-only routes under /api/v1/replication/, with a
// token of role replication (or admin) on the source:
//
//	GET  /api/v1/replication/info                          ReplicationInfo
//	GET  /api/v1/replication/snapshots                     ReplicationSnapshots (every host)
//	GET  /api/v1/replication/snapshots/{id}                ReplicationSnapshot
//	GET  /api/v1/replication/snapshots/{id}/writer-metadata the document's bytes
//	GET  /api/v1/replication/diskmaps/{id}                 the disk map's encoding (SVDM), decrypted
//	POST /api/v1/replication/chunks                        ChunksRequest -> a chunk stream
//
// The chunk stream (application/octet-stream) holds, for each requested
// ID in order, a frame: the 32-byte chunk ID, the plaintext length as a
// 4-byte big-endian number, and the plaintext. A stream cut short means
// the server failed part way.

// Replication limits a source server enforces.
const (
	// MaxChunksPerRequest bounds the IDs of one ChunksRequest.
	MaxChunksPerRequest = 256
	// MaxChunkFrame bounds one chunk's plaintext in a chunk stream (the
	// largest chunk a repository's chunker parameters allow).
	MaxChunkFrame = 64 << 20
)

// ID schemes of a repository's chunk IDs.
const (
	// IDSchemePlain: an ID is the plain BLAKE3-256 of the chunk; anyone
	// can check it.
	IDSchemePlain = "plain"
	// IDSchemeKeyed: an ID is keyed BLAKE3 under the repository's key;
	// only a repository with the same key (the same fingerprint) can
	// check it.
	IDSchemeKeyed = "keyed"
)

// ReplicationInfo describes a source repository: GET
// /api/v1/replication/info.
type ReplicationInfo struct {
	// RepositoryID is the source repository's id (its config's): the
	// target keys its map of source chunk IDs by it.
	RepositoryID string `json:"repository_id"`
	IDScheme     string `json:"id_scheme"`
	// IDFingerprint is the ID of a fixed string under the repository's
	// scheme: equal fingerprints mean equal chunk IDs for equal content.
	IDFingerprint       string `json:"id_fingerprint"`
	MaxChunksPerRequest int    `json:"max_chunks_per_request"`
}

// ReplicationSnapshot is a snapshot as a source serves it: the manifest
// exactly as stored (its receipt is the source's signed original) and
// whether it is protected.
type ReplicationSnapshot struct {
	ID        string          `json:"id"`
	Protected bool            `json:"protected"`
	Manifest  json.RawMessage `json:"manifest"`
}

// ReplicationSnapshots is the answer to GET /api/v1/replication/snapshots,
// oldest first.
type ReplicationSnapshots struct {
	Snapshots []ReplicationSnapshot `json:"snapshots"`
}

// ChunksRequest asks a source for chunks by ID: POST
// /api/v1/replication/chunks (1 to MaxChunksPerRequest IDs).
type ChunksRequest struct {
	IDs []string `json:"ids"`
}

// SyncRequest starts a sync job on the target: POST /api/v1/sync (admin).
type SyncRequest struct {
	// Source is the source server's URL, SourceToken a replication (or
	// admin) token of it: this server pulls. Or Target is the target
	// server's URL, TargetToken a push (or admin) token of it: this server
	// pushes its own snapshots. Exactly one of Source and Target.
	Source      string `json:"source,omitempty"`
	SourceToken string `json:"source_token,omitempty"`
	Target      string `json:"target,omitempty"`
	TargetToken string `json:"target_token,omitempty"`
	// Host and VM are globs (empty: every one).
	Host string `json:"host,omitempty"`
	VM   string `json:"vm,omitempty"`
	// MaxAge copies only snapshots younger than this (a Go duration such
	// as "720h"; empty: all).
	MaxAge string `json:"max_age,omitempty"`
	// RateLimit caps the bytes per second read from the source (0: none).
	RateLimit int64 `json:"rate_limit,omitempty"`
	// Parallel is the chunk requests in flight (default 4, at most 32).
	Parallel int `json:"parallel,omitempty"`
	// KeepProtected marks a copy protected when the source's snapshot is.
	KeepProtected bool `json:"keep_protected,omitempty"`
	// Verify reads each copy back before its commit and checks each
	// disk's original file against the manifest's stream BLAKE3 (a pull
	// only: the target reads, the source cannot).
	Verify bool `json:"verify,omitempty"`
}

// SyncStarted is the answer to POST /api/v1/sync (202): the job, to
// follow at GET /api/v1/jobs/{id}.
type SyncStarted struct {
	Job string `json:"job"`
}

// SyncStats is what a sync job did.
type SyncStats struct {
	// Source is the source repository's id, URL where it was read.
	Source string `json:"source"`
	URL    string `json:"url,omitempty"`
	// Snapshots copied, and SnapshotsSkipped already on the target.
	Snapshots        int `json:"snapshots"`
	SnapshotsSkipped int `json:"snapshots_skipped"`
	// ChunksSent came from the source; ChunksSkipped the target had.
	ChunksSent    int64 `json:"chunks_sent"`
	ChunksSkipped int64 `json:"chunks_skipped"`
	// BytesSent is the chunk plaintext read from the source;
	// BytesStored what the target stored new (compressed).
	BytesSent   int64 `json:"bytes_sent"`
	BytesStored int64 `json:"bytes_stored"`
	// DisksVerified were read back and checked (verify).
	DisksVerified int64 `json:"disks_verified,omitempty"`
}
