package apiv1

// ClusterStats is what a cluster node did to stay in step with the other
// nodes (docs/SCALE.md), under "cluster" in GET /api/v1/stats; absent for
// a single server.
type ClusterStats struct {
	Node              string  `json:"node"`
	Refreshes         int64   `json:"refreshes"`
	Lists             int64   `json:"lists"` // listing calls since start
	Gets              int64   `json:"gets"`  // objects read since start
	Published         int64   `json:"index_objects_published"`
	PublishedBytes    int64   `json:"index_bytes_published"`
	PacksImported     int64   `json:"packs_imported"`
	SnapshotsImported int64   `json:"snapshots_imported"`
	SnapshotsDropped  int64   `json:"snapshots_dropped"`
	LastRefreshSecs   float64 `json:"last_refresh_seconds"`
}
