package apiv1

import "time"

// Partition is one partition found on a snapshot disk: GET
// /api/v1/snapshots/{id}/disks/{name}/fs/ answers a JSON array of them.
type Partition struct {
	// Index numbers partitions as Windows and Linux do: MBR primary slots
	// 1-4, logical partitions from 5, GPT entries from 1.
	Index int `json:"index"`
	// Type is the filesystem found in the partition: "ntfs", "fat",
	// "exfat", "refs", "bitlocker", "ext", "xfs", "swap", "lvm", "msr" or
	// "unknown". Only ntfs partitions can be browsed.
	Type   string `json:"type"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Name   string `json:"name,omitempty"` // the GPT partition name
}

// DirListing is the answer to GET .../fs/{index}/ls?path=/dir.
type DirListing struct {
	Entries []DirEntry `json:"entries"`
	Path    string     `json:"path"`
}

// DirEntry is one entry of a directory inside a snapshot disk.
type DirEntry struct {
	Name  string    `json:"name"`
	Size  int64     `json:"size"`
	Dir   bool      `json:"dir"`
	MTime time.Time `json:"mtime"`
}
