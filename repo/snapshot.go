package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/shadowvault/shadowvault/diskmap"
	"sort"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// Manifest format identifiers.
const (
	ManifestMagic   = "shadowvault-snapshot"
	ManifestVersion = 1
)

// ErrUnknownSnapshot is returned for a snapshot id that does not exist.
var ErrUnknownSnapshot = errors.New("unknown snapshot")

// ErrCorrupt is returned for a stored object (a manifest's writer
// metadata) that does not match what references it.
var ErrCorrupt = errors.New("corrupt repository object")

// ManifestDisk is one disk of a snapshot.
type ManifestDisk struct {
	Name         string              `json:"name"`
	Format       diskmap.Format      `json:"format"`
	VirtualSize  int64               `json:"virtual_size"`
	FileSize     int64               `json:"file_size"`
	StreamBytes  int64               `json:"stream_bytes"`
	StreamBLAKE3 string              `json:"stream_blake3"`
	NewBytes     int64               `json:"new_bytes"`
	StoredBytes  int64               `json:"stored_bytes"`
	DiskMap      chunk.ID            `json:"disk_map"`
	Container    diskmap.Container   `json:"container"`
	Parent       string              `json:"parent,omitempty"`
	Guest        *diskmap.GuestHints `json:"guest,omitempty"`
	// Base and ChangedBytes describe an incremental disk: the snapshot
	// whose disk it changed and the bytes the upload wrote. The disk is
	// complete on its own: the base may be forgotten.
	Base         string `json:"base,omitempty"`
	ChangedBytes int64  `json:"changed_bytes,omitempty"`
	// RCTID is the change tracking id the agent read from the disk it
	// sent (Hyper-V resilient change tracking), for its next incremental.
	RCTID string `json:"rct_id,omitempty"`
}

// Manifest is a snapshot, as stored in the backend and the index.
type Manifest struct {
	Magic       string              `json:"magic"`
	Version     int                 `json:"version"`
	ID          string              `json:"id"`
	Session     string              `json:"session"`
	Host        string              `json:"host"`
	VM          string              `json:"vm"`
	Time        time.Time           `json:"time"`
	BackupType  receipt.BackupType  `json:"backup_type"`
	Consistency receipt.Consistency `json:"consistency"`
	Writers     json.RawMessage     `json:"writers,omitempty"`
	Disks       []ManifestDisk      `json:"disks"`
	Receipt     receipt.Receipt     `json:"receipt"`
	// WriterMetadata is the VSS writer metadata document the agent sent
	// (diskshadow's backup .cab), stored as metadata/<id>; nil without one.
	WriterMetadata *Document `json:"writer_metadata,omitempty"`
	// Replica is set in a snapshot a sync copied from another repository
	// (import.go); ID, Session and Receipt are then the source's.
	Replica *Replica `json:"replica,omitempty"`
}

// Disk returns the named disk.
func (m *Manifest) Disk(name string) (ManifestDisk, bool) {
	for _, d := range m.Disks {
		if d.Name == name {
			return d, true
		}
	}
	return ManifestDisk{}, false
}

// LogicalBytes is the virtual size of all disks.
func (m *Manifest) LogicalBytes() int64 {
	var n int64
	for _, d := range m.Disks {
		n += d.VirtualSize
	}
	return n
}

func decodeManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if m.Magic != ManifestMagic {
		return nil, fmt.Errorf("decode manifest: magic %q", m.Magic)
	}
	switch m.Version {
	case 1:
	default:
		return nil, fmt.Errorf("decode manifest: unknown version %d", m.Version)
	}
	return &m, nil
}

func (r *Repository) saveManifest(ctx context.Context, m *Manifest) ([]byte, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	h := backend.Handle{Type: backend.TypeSnapshot, Name: m.ID}
	if err := r.be.Put(ctx, h, bytes.NewReader(data), int64(len(data))); err != nil {
		return nil, fmt.Errorf("store manifest: %w", err)
	}
	return data, nil
}

// Snapshot returns a snapshot's manifest.
func (r *Repository) Snapshot(id string) (*Manifest, error) {
	data, err := r.idx.Snapshot(id)
	if errors.Is(err, index.ErrNotFound) {
		return nil, fmt.Errorf("snapshot %s: %w", id, ErrUnknownSnapshot)
	}
	if err != nil {
		return nil, err
	}
	return decodeManifest(data)
}

// Filter selects snapshots; empty fields match everything.
type Filter struct {
	Host string
	VM   string
}

// Snapshots lists snapshots matching f, oldest first.
func (r *Repository) Snapshots(f Filter) ([]*Manifest, error) {
	var out []*Manifest
	err := r.idx.Snapshots(func(id string, rec []byte) error {
		m, err := decodeManifest(rec)
		if err != nil {
			r.log.Error("bad snapshot record in index", "snapshot", id, "err", err)
			return nil
		}
		if (f.Host == "" || f.Host == m.Host) && (f.VM == "" || f.VM == m.VM) {
			out = append(out, m)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Time.Before(b.Time) || a.Time.Equal(b.Time) && a.ID < b.ID
	})
	return out, err
}
