package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// A cluster is several servers ("nodes") serving one repository in one S3
// bucket at once. The bucket is the coordination point and each node's
// bbolt index a cache of it (docs/SCALE.md):
//   - a node publishes an index object for every pack it stores
//     (clusterindex.go) and imports the others' on every refresh;
//   - the catalogue and the settings are mirrored from the bucket on every
//     refresh (clustercat.go);
//   - prune, repair and the prune of a forget run under a lease, an object
//     written by compare-and-swap (clusterlease.go), and delete only what
//     no node can depend on (clusterprune.go).
//
// Without ClusterOptions none of this runs: no loop, no new object.

// ClusterOptions make a repository one node of a cluster.
type ClusterOptions struct {
	// Node names this node: [0-9a-zA-Z._-], at most 64 characters, unique
	// in the cluster.
	Node string
	// Refresh is how often the node imports what other nodes stored
	// (default 10 s): the catch-up delay of dedup and catalogue.
	Refresh time.Duration
	// Lease is how long the maintenance lease lasts unrenewed (default
	// 30 s): a node that dies holding it blocks maintenance that long.
	Lease time.Duration
	// DoomDelay is how long a prune waits between announcing the packs it
	// means to delete and deleting them (default 30 s; see clusterprune.go).
	DoomDelay time.Duration
}

// ErrMaintenanceElsewhere is returned when a prune or repair is asked for
// while another node holds the maintenance lease.
var ErrMaintenanceElsewhere = errors.New("maintenance is running on another node")

// ErrNotCluster is returned for cluster options on a backend that cannot
// coordinate (a local directory: no conditional writes).
var ErrNotCluster = errors.New("the repository's storage cannot coordinate a cluster (S3 needed)")

// cursorMargin is how far before the newest index object seen a refresh
// lists again: a writer's clock may be behind, and its object may appear
// after newer ones. An object that appears later than this is found by
// the full listing every fullListEvery, and by every prune.
const (
	cursorMargin  = 5 * time.Minute
	fullListEvery = time.Hour
)

// cluster is a node's part in a cluster.
type cluster struct {
	r         *Repository
	node      string
	refresh   time.Duration
	lease     time.Duration
	doomDelay time.Duration
	swap      backend.Swapper
	stats     clusterCounters

	// refreshMu makes refreshes one at a time (the loop, a prune, Open).
	refreshMu sync.Mutex
	// The fields below are guarded by refreshMu.
	cursor   time.Time                // newest index object stamp seen
	lastFull time.Time                // last full listing of index objects
	gone     map[chunk.ID]bool        // packs prunes deleted, from their records
	stale    []string                 // index objects of gone packs the last full listing found
	settings map[backend.Handle]int64 // settings objects read, with their sizes

	// leaseMu guards the lease tag last seen and since when (leaseFree).
	leaseMu   sync.Mutex
	leaseTag  string
	leaseSeen time.Time

	// pruneLive is the live set of the prune running here (set by
	// confirm, cleared by end); the prune's goroutine alone uses it.
	pruneLive *liveSet

	// appliedMu guards applied: the gone records whose packs are out of
	// the index.
	appliedMu sync.Mutex
	applied   map[string]bool
}

// clusterCounters count a node's coordination work (ClusterStats).
type clusterCounters struct {
	refreshes, lists, gets, published, publishedBytes, imported atomic.Int64
	snapshotsImported, snapshotsDropped                         atomic.Int64
	lastRefreshNanos                                            atomic.Int64
}

// ClusterStats is what a node did to stay in step with the others.
type ClusterStats struct {
	Node              string  `json:"node"`
	Refreshes         int64   `json:"refreshes"`
	Lists             int64   `json:"lists"` // listing calls (each one or more requests)
	Gets              int64   `json:"gets"`  // objects read
	Published         int64   `json:"index_objects_published"`
	PublishedBytes    int64   `json:"index_bytes_published"`
	PacksImported     int64   `json:"packs_imported"`
	SnapshotsImported int64   `json:"snapshots_imported"`
	SnapshotsDropped  int64   `json:"snapshots_dropped"`
	LastRefreshSecs   float64 `json:"last_refresh_seconds"`
}

func newCluster(r *Repository, o ClusterOptions) (*cluster, error) {
	if err := validNode(o.Node); err != nil {
		return nil, err
	}
	swap := backend.SwapperOf(r.be)
	if swap == nil {
		return nil, fmt.Errorf("node %s: %w", o.Node, ErrNotCluster)
	}
	if o.Refresh <= 0 {
		o.Refresh = 10 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.DoomDelay <= 0 {
		o.DoomDelay = 30 * time.Second
	}
	return &cluster{
		r: r, node: o.Node, refresh: o.Refresh, lease: o.Lease, doomDelay: o.DoomDelay, swap: swap,
		gone: map[chunk.ID]bool{}, applied: map[string]bool{}, settings: map[backend.Handle]int64{},
	}, nil
}

func validNode(n string) error {
	if n == "" || len(n) > 64 {
		return fmt.Errorf("node name %q: want 1 to 64 characters", n)
	}
	for _, c := range n {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("node name %q: want [0-9a-zA-Z._-]", n)
		}
	}
	return nil
}

// run refreshes every c.refresh until the repository closes.
func (c *cluster) run() {
	defer c.r.stopped.Done()
	tick := time.NewTicker(c.refresh)
	defer tick.Stop()
	filled := false
	for {
		select {
		case <-c.r.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*c.refresh+time.Minute)
			if err := c.sync(ctx, false); err != nil {
				c.r.log.Error("cluster refresh", "node", c.node, "err", err)
			}
			if !filled {
				var err error
				if filled, err = c.backfill(ctx); err != nil {
					c.r.log.Error("cluster backfill", "node", c.node, "err", err)
				}
			}
			cancel()
		}
	}
}

// sync brings the node's index up to the bucket: prune records first (so
// that no deleted pack is imported again), then the manifests are listed,
// then the index objects (a manifest's packs are published before it, so
// every pack of a manifest listed is found), then the catalogue and the
// settings. full lists every index object, not only the newest.
func (c *cluster) sync(ctx context.Context, full bool) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	start := time.Now()
	if err := c.applyRecords(ctx); err != nil {
		return err
	}
	local, err := c.r.listedIDs()
	if err != nil {
		return err
	}
	c.stats.lists.Add(1)
	stored, err := c.r.manifestsInBackend(ctx)
	if err != nil {
		return err
	}
	if full || c.lastFull.IsZero() || time.Since(c.lastFull) > fullListEvery {
		full = true
	}
	if err := c.importIndex(ctx, full); err != nil {
		return err
	}
	if full {
		c.lastFull = time.Now()
	}
	if err := c.syncCatalogue(ctx, local, stored); err != nil {
		return err
	}
	if err := c.syncSettings(ctx); err != nil {
		return err
	}
	c.stats.refreshes.Add(1)
	c.stats.lastRefreshNanos.Store(int64(time.Since(start)))
	return nil
}

// ClusterStats returns the node's coordination counters; ok is false for
// a repository that is not a cluster node.
func (r *Repository) ClusterStats() (ClusterStats, bool) {
	c := r.cl
	if c == nil {
		return ClusterStats{}, false
	}
	return ClusterStats{
		Node: c.node, Refreshes: c.stats.refreshes.Load(), Lists: c.stats.lists.Load(), Gets: c.stats.gets.Load(),
		Published: c.stats.published.Load(), PublishedBytes: c.stats.publishedBytes.Load(),
		PacksImported: c.stats.imported.Load(), SnapshotsImported: c.stats.snapshotsImported.Load(),
		SnapshotsDropped: c.stats.snapshotsDropped.Load(),
		LastRefreshSecs:  time.Duration(c.stats.lastRefreshNanos.Load()).Seconds(),
	}, true
}

// Refresh imports at once what other nodes stored (tests, and the API
// could offer it); a no-op for a single node.
func (r *Repository) Refresh(ctx context.Context) error {
	if r.cl == nil {
		return nil
	}
	return r.cl.sync(ctx, false)
}

// joinCluster makes r a cluster node: its packs publish index objects, and
// its index is brought up to the bucket before Reconcile looks at it.
func (r *Repository) joinCluster(ctx context.Context, o ClusterOptions) error {
	c, err := newCluster(r, o)
	if err != nil {
		return fmt.Errorf("open repository: %w", err)
	}
	r.cl = c
	r.packer.publish = c.publish
	r.packer.salt = true
	if err := c.sync(ctx, true); err != nil {
		r.log.Error("cluster: first refresh", "node", c.node, "err", err)
	}
	return nil
}
