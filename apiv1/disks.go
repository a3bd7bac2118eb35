package apiv1

import "github.com/shadowvault/shadowvault/diskmap"

// DiskSummary is the answer to a disk upload: PUT
// /api/v1/sessions/{id}/disks/{name}. Its first fields are the disk as the
// receipt will list it; StreamBLAKE3 is the hex BLAKE3 of the bytes the
// server received.
type DiskSummary struct {
	Disk
	Chunks int `json:"chunks"`
	// HasParent marks a differencing disk; ParentID is the id its parent
	// must have (VHD unique id, VHDX DataWriteGuid). It is merged with a
	// disk of the session only if one has that id.
	HasParent bool   `json:"has_parent,omitempty"`
	ParentID  string `json:"parent_id,omitempty"`
}

// HintsRequest is what the agent tells the server about a disk's guest
// filesystems before it streams the disk: PUT
// /api/v1/sessions/{id}/disks/{name}/hints. Boundaries are offsets where
// files begin and end (the chunker cuts there), sector aligned; Free are
// free ranges (free clusters, page and hibernation files).
type HintsRequest struct {
	Boundaries []int64 `json:"boundaries"`
	Free       []Range `json:"free"`
	// ExcludeFree stores the free ranges as zeros; without it they are
	// ignored (the boundaries still apply).
	ExcludeFree bool `json:"exclude_free"`
}

// Range is a byte range of a disk's virtual content ({"off","len"}).
type Range = diskmap.Range

// HintsResult is the answer to a hints request: what the server kept of
// them once normalized.
type HintsResult struct {
	Boundaries int    `json:"boundaries"`
	Disk       string `json:"disk"`
	FreeRanges int    `json:"free_ranges"`
}

// Block digests of a snapshot disk: GET
// /api/v1/snapshots/{id}/disks/{name}/digests answers
// application/octet-stream, one BLAKE3-256 (DigestSize bytes) per block of
// the virtual content, the block size in the BlockSizeHeader header (the
// last block may be shorter). An incremental agent compares them with its
// disk's and sends the blocks that differ.
const (
	BlockSizeHeader = "X-Shadowvault-Block-Size"
	DigestSize      = 32
)

// ValidRCTID reports whether a resilient change tracking id may be sent
// with a disk (PUT ...?rct_id=) and stored: printable ASCII without
// spaces, 1 to 256 bytes.
func ValidRCTID(id string) bool {
	if len(id) == 0 || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
