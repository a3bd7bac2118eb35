package main

import (
	"testing"
	"time"
)

func TestClusterOptions(t *testing.T) {
	saved := cluster
	defer func() { cluster = saved }()
	cluster.node, cluster.refresh, cluster.lease, cluster.doomDelay = "", 10*time.Second, 30*time.Second, 30*time.Second
	if o, err := clusterOptions("s3://b/p"); o != nil || err != nil {
		t.Fatalf("without --node: %+v %v, want nothing", o, err)
	}
	cluster.node = "ingest-01"
	if _, err := clusterOptions("./shadowvault-data"); err == nil {
		t.Fatal("--node with a local repository was accepted")
	}
	o, err := clusterOptions("s3://b/p")
	if err != nil || o == nil || o.Node != "ingest-01" || o.Refresh != 10*time.Second {
		t.Fatalf("--node ingest-01: %+v %v", o, err)
	}
	cluster.lease = 0
	if _, err := clusterOptions("s3://b/p"); err == nil {
		t.Fatal("a zero lease was accepted")
	}
}
