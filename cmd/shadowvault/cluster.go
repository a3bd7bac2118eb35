package main

import (
	"flag"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/repo"
)

// cluster is what the --node flags ask for: several servers on one S3
// repository (docs/SCALE.md). Without --node, none of it runs.
var cluster struct {
	node           string
	refresh, lease time.Duration
	doomDelay      time.Duration
}

func registerClusterFlags(fs *flag.FlagSet) {
	fs.StringVar(&cluster.node, "node", "", "serve an S3 repository as the cluster node `NAME` ([0-9a-zA-Z._-], unique), with other nodes on the same bucket (docs/SCALE.md)")
	fs.DurationVar(&cluster.refresh, "cluster-refresh", 10*time.Second, "how often (`DURATION`) a node imports what the others stored: the catch-up delay of dedup and catalogue")
	fs.DurationVar(&cluster.lease, "cluster-lease", 30*time.Second, "how long (`DURATION`) the maintenance lease lasts unrenewed: a node that dies holding it blocks prune and repair that long")
	fs.DurationVar(&cluster.doomDelay, "cluster-doom-delay", 30*time.Second, "how long (`DURATION`) a prune announces the packs it deletes before it deletes them")
}

// clusterOptions returns the cluster options of serve, nil without --node.
func clusterOptions(repoPath string) (*repo.ClusterOptions, error) {
	if cluster.node == "" {
		return nil, nil
	}
	if !strings.HasPrefix(repoPath, "s3://") {
		return nil, usageErrorf("serve: --node needs an S3 repository (--repo s3://...): nodes coordinate through the bucket")
	}
	if cluster.refresh <= 0 || cluster.lease <= 0 || cluster.doomDelay <= 0 {
		return nil, usageErrorf("serve: --cluster-refresh, --cluster-lease and --cluster-doom-delay must be positive")
	}
	return &repo.ClusterOptions{Node: cluster.node, Refresh: cluster.refresh, Lease: cluster.lease, DoomDelay: cluster.doomDelay}, nil
}
