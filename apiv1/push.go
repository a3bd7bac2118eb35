package apiv1

// Push: the source server runs the sync job (POST /api/v1/sync with
// target and target_token) and writes into the target server through the
// routes under /api/v1/replication/push/, with a token of role push (or
// admin) on the target. A push token may only add copied snapshots: it
// cannot read chunks, restore, browse, delete or forget.
//
//	POST   /api/v1/replication/push                      PushBegin -> PushBegun
//	POST   /api/v1/replication/push/has                  PushSnapshot -> PushState
//	POST   /api/v1/replication/push/protect              PushSnapshot -> PushState
//	POST   /api/v1/replication/push/{import}/lookup      PushLookup -> PushIDs
//	POST   /api/v1/replication/push/{import}/chunks      a chunk stream (as the source's) -> PushIDs
//	POST   /api/v1/replication/push/{import}/settle      -> PushState
//	PUT    /api/v1/replication/push/{import}/maps/{i}    a disk map's encoding -> PushState
//	POST   /api/v1/replication/push/{import}/commit      PushCommit -> PushState
//	DELETE /api/v1/replication/push/{import}             end the import
//
// An import lives in the target's memory; one idle for
// PushIdleSeconds ends by itself.

// PushIdleSeconds is how long an idle push import lives on the target.
const PushIdleSeconds = 600

// PushBegin starts an import of one snapshot from the source repository
// Source describes (the target decides from its fingerprint whether both
// compute IDs alike).
type PushBegin struct {
	Source ReplicationInfo `json:"source"`
}

// PushBegun is the import started, and the target's ID scheme.
type PushBegun struct {
	Import string          `json:"import"`
	Target ReplicationInfo `json:"target"`
}

// PushSnapshot names a snapshot of a source repository (its id).
type PushSnapshot struct {
	Source   string `json:"source"`
	Snapshot string `json:"snapshot"`
}

// PushState answers what the target knows or did: State is "absent",
// "listed" or "forgotten" (has); "ok" otherwise.
type PushState struct {
	State     string `json:"state"`
	Protected bool   `json:"protected,omitempty"`
	// StoredBytes is what a chunk request stored new.
	StoredBytes int64 `json:"stored_bytes,omitempty"`
}

// PushLookup asks for the target's chunks of source chunk IDs (at most
// MaxPushLookup).
type PushLookup struct {
	IDs []string `json:"ids"`
}

// MaxPushLookup bounds the IDs of one PushLookup.
const MaxPushLookup = 4096

// PushIDs are target chunk IDs, one per ID asked or sent, "" for unknown.
type PushIDs struct {
	IDs         []string `json:"ids"`
	StoredBytes int64    `json:"stored_bytes"`
}

// PushCommit commits the import: the manifest as the source stores it,
// its disk maps sent before (PUT .../maps/{i}, one per disk), the writer
// metadata document (base64 by encoding/json) when the manifest names
// one.
type PushCommit struct {
	Manifest       []byte `json:"manifest"`
	WriterMetadata []byte `json:"writer_metadata,omitempty"`
	Protect        bool   `json:"protect,omitempty"`
}
