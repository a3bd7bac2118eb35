package apiv1

import (
	"encoding/json"
	"time"

	"github.com/shadowvault/shadowvault/diskmap"
)

// SnapshotList is the answer to GET /api/v1/snapshots?host=&vm=, oldest
// first. A token limited to a host sees that host's snapshots only.
type SnapshotList struct {
	Snapshots []SnapshotSummary `json:"snapshots"`
}

// SnapshotSummary is one snapshot of a list.
type SnapshotSummary struct {
	ID           string         `json:"id"`
	Host         string         `json:"host"`
	VM           string         `json:"vm"`
	Time         string         `json:"time"` // RFC 3339, in seconds
	BackupType   BackupType     `json:"backup_type"`
	Consistency  Consistency    `json:"consistency"`
	LogicalBytes int64          `json:"logical_bytes"` // the disks' virtual sizes
	Disks        []SnapshotDisk `json:"disks"`
	// Protected: no retention policy removes the snapshot (PUT
	// .../protected); left out when false.
	Protected bool `json:"protected,omitempty"`
	// ImmutableUntil (RFC 3339) is when the snapshot's Object Lock ends,
	// as its receipt says; left out for a repository that does not lock.
	ImmutableUntil string `json:"immutable_until,omitempty"`
}

// Snapshot is a snapshot's manifest as a client sees it: GET
// /api/v1/snapshots/{id}. It is the manifest the repository stores.
type Snapshot struct {
	Magic       string          `json:"magic"`
	Version     int             `json:"version"`
	ID          string          `json:"id"`
	Session     string          `json:"session"`
	Host        string          `json:"host"`
	VM          string          `json:"vm"`
	Time        time.Time       `json:"time"`
	BackupType  BackupType      `json:"backup_type"`
	Consistency Consistency     `json:"consistency"`
	Writers     json.RawMessage `json:"writers,omitempty"`
	Disks       []SnapshotDisk  `json:"disks"`
	Receipt     Receipt         `json:"receipt"`
	// WriterMetadata describes the VSS writer metadata document kept with
	// the snapshot (GET /api/v1/snapshots/{id}/writer-metadata); nil
	// without one.
	WriterMetadata *Document `json:"writer_metadata,omitempty"`
	// Replica is set on a copy a sync made from another repository: id,
	// session and receipt are then the source's.
	Replica *Replica `json:"replica,omitempty"`
}

// Replica says where a copied snapshot came from: the source
// repository's id, and when this repository committed the copy.
type Replica struct {
	Source string    `json:"source"`
	Copied time.Time `json:"copied"`
}

// SnapshotDisk is one disk of a snapshot.
type SnapshotDisk struct {
	Name         string      `json:"name"`
	Format       DiskFormat  `json:"format"`
	VirtualSize  int64       `json:"virtual_size"`
	FileSize     int64       `json:"file_size"` // of the original container file
	StreamBytes  int64       `json:"stream_bytes"`
	StreamBLAKE3 string      `json:"stream_blake3"`
	NewBytes     int64       `json:"new_bytes"`
	StoredBytes  int64       `json:"stored_bytes"`
	DiskMap      string      `json:"disk_map"` // the disk map's chunk ID, hex
	Container    Container   `json:"container"`
	Parent       string      `json:"parent,omitempty"` // the parent's disk name, for a differencing disk
	Guest        *GuestHints `json:"guest,omitempty"`
	// Base and ChangedBytes describe an incremental disk: the snapshot
	// whose disk it changed, and the bytes the upload wrote over it.
	Base         string `json:"base,omitempty"`
	ChangedBytes int64  `json:"changed_bytes,omitempty"`
	// RCTID is the disk's Hyper-V resilient change tracking id when it was
	// backed up (the upload's rct_id), for the next incremental.
	RCTID string `json:"rct_id,omitempty"`
}

// Container describes the container a disk was uploaded in. The ids are
// hex: DiskID is a VHD's unique id or a VHDX's disk id, DataWriteID a
// VHDX's DataWriteGuid, ParentID the id a differencing disk's parent must
// have.
type Container = diskmap.Container

// GuestHints records what the guest hints sent for a disk did.
type GuestHints = diskmap.GuestHints

// DiskFormat is the format a disk was uploaded in: "raw", "vhd", "vhdx".
type DiskFormat = diskmap.Format

// Document describes a stored document: its size and hex BLAKE3.
type Document struct {
	Size   int64  `json:"size"`
	BLAKE3 string `json:"blake3"`
}

// SnapshotProtected is the answer to PUT /api/v1/snapshots/{id}/protected,
// whose body is true or false.
type SnapshotProtected struct {
	Protected bool   `json:"protected"`
	Snapshot  string `json:"snapshot"`
}

// SnapshotForgotten is the answer to DELETE /api/v1/snapshots/{id}.
type SnapshotForgotten struct {
	Forgotten bool   `json:"forgotten"`
	Snapshot  string `json:"snapshot"`
}
