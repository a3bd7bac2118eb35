package apiv1

import (
	"encoding/json"
	"time"
)

// PruneRequest is the body of POST /api/v1/prune; an empty body takes the
// defaults.
type PruneRequest struct {
	// RepackBelow rewrites packs whose live share is under it (0 to 1; 0:
	// the default 0.7).
	RepackBelow float64 `json:"repack_below"`
	// Grace is a Go duration: packs younger than it are never touched.
	Grace string `json:"grace"`
}

// PruneResult is the answer to a prune, and the last result of the prune
// job.
type PruneResult struct {
	PacksDeleted   int `json:"packs_deleted"`
	PacksRewritten int `json:"packs_rewritten"`
	PacksWritten   int `json:"packs_written"`
	OrphansDeleted int `json:"orphans_deleted"`
	// DiskMapsDeleted counts disk maps no snapshot references any more.
	DiskMapsDeleted int     `json:"disk_maps_deleted"`
	ChunksRemoved   int     `json:"chunks_removed"`
	LiveChunks      int     `json:"live_chunks"`
	BytesFreed      int64   `json:"bytes_freed"`
	Seconds         float64 `json:"seconds"`
	// Under S3 Object Lock a removed object is hidden at once and its
	// bytes stay until its retention passes; every prune then deletes
	// what has become free. BytesPurged is what this prune deleted of
	// objects removed before (and now), BytesLocked what still waits,
	// until LockedUntil at the earliest.
	BytesPurged int64 `json:"bytes_purged,omitempty"`
	// LocksExtended counts the objects of kept snapshots whose lock this
	// prune extended to its time plus the lock period.
	LocksExtended int       `json:"locks_extended,omitempty"`
	BytesLocked   int64     `json:"bytes_locked,omitempty"`
	LockedUntil   time.Time `json:"locked_until,omitzero"`
}

// CheckRequest is the body of POST /api/v1/check; an empty body checks
// the structure only.
type CheckRequest struct {
	// ReadDataPercent asks for that share of the packs (chosen at random)
	// to be read, decompressed and re-hashed (0 to 100).
	ReadDataPercent int `json:"read_data_percent"`
}

// CheckResult is what a check found, and the last result of the check job.
type CheckResult struct {
	// OK is true when no problem was found.
	OK bool `json:"ok"`
	// Damaged lists the disks that cannot be restored in full, once each,
	// ordered by snapshot and disk.
	Damaged []DamagedDisk `json:"damaged"`
	// Problems describes everything found, one line each.
	Problems []string `json:"problems"`
	// UnlistedManifests are manifests in the backend the catalogue does
	// not list; MissingManifests are listed snapshots without a manifest.
	UnlistedManifests []string `json:"unlisted_manifests"`
	MissingManifests  []string `json:"missing_manifests"`
	// What was checked.
	Snapshots int `json:"snapshots"`
	Disks     int `json:"disks"`
	Chunks    int `json:"chunks"`     // distinct chunks referenced
	Packs     int `json:"packs"`      // packs holding them
	PacksRead int `json:"packs_read"` // packs whose data was read
}

// DamagedDisk names a disk of a snapshot that cannot be restored in full.
type DamagedDisk struct {
	Snapshot string `json:"snapshot"`
	Disk     string `json:"disk"`
	Reason   string `json:"reason"` // the first problem found
}

// CheckResponse is the answer to POST /api/v1/check: 200 whether or not
// damage was found (OK tells which), with what was asked.
type CheckResponse struct {
	CheckResult
	ReadDataPercent int  `json:"read_data_percent"`
	DataRead        bool `json:"data_read"` // chunk data of PacksRead packs was re-hashed
}

// RepairResult is the answer to POST /api/v1/repair/index: what the
// rebuilt index and catalogue hold.
type RepairResult struct {
	Packs     int   `json:"packs"`
	Chunks    int   `json:"chunks"` // distinct chunks now indexed
	PackBytes int64 `json:"pack_bytes"`
	Snapshots int   `json:"snapshots"`
	Protected int   `json:"protected"` // snapshots marked protected
	// Tokens and Policies count what came back from the backend into an
	// index that lacked them.
	Tokens   int `json:"tokens_restored"`
	Policies int `json:"policies_restored"`
	// Jobs counts the finished jobs of the history that came back.
	Jobs    int             `json:"jobs_restored"`
	Skipped []SkippedObject `json:"skipped"` // damaged objects left out
	Seconds float64         `json:"seconds"`
}

// SkippedObject is a backend object a rebuild could not use, and why.
type SkippedObject struct {
	Object string `json:"object"`
	Reason string `json:"reason"`
}

// Job is a maintenance job (prune or check) and its last run.
type Job struct {
	Name      string    `json:"name"`
	Running   bool      `json:"running"`
	Interval  string    `json:"interval,omitempty"` // "" when not scheduled
	LastStart time.Time `json:"last_start,omitempty"`
	LastEnd   time.Time `json:"last_end,omitempty"`
	// LastResult is the last run's PruneResult or CheckResult.
	LastResult json.RawMessage `json:"last_result,omitempty"`
	LastError  string          `json:"last_error,omitempty"`
	Seconds    float64         `json:"seconds,omitempty"`
	BytesFreed int64           `json:"bytes_freed,omitempty"`
	Runs       int             `json:"runs"`
}

// Stats is the answer to GET /api/v1/stats.
type Stats struct {
	Chunks       int     `json:"chunks"`
	DedupRatio   float64 `json:"dedup_ratio"` // logical bytes per stored byte
	LogicalBytes int64   `json:"logical_bytes"`
	Packs        int     `json:"packs"`
	SessionsOpen int     `json:"sessions_open"`
	Snapshots    int     `json:"snapshots"`
	StoredBytes  int64   `json:"stored_bytes"`
	StreamBytes  int64   `json:"stream_bytes"`
}

// Health is the answer to GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// RevertResult is the answer to POST /api/v1/repair/versions: how many
// objects of each type got their first (locked) version back.
type RevertResult struct {
	Reverted map[string]int `json:"reverted"`
	Seconds  float64        `json:"seconds"`
}
