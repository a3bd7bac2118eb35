package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shadowvault/shadowvault/repo"
)

// clusterCollector exports a cluster node's coordination counters
// (docs/SCALE.md); a single server exports none.
type clusterCollector struct {
	r                                              *repo.Repository
	refreshes, requests, published, imported, last *prometheus.Desc
}

func newClusterCollector(r *repo.Repository) *clusterCollector {
	return &clusterCollector{
		r:         r,
		refreshes: prometheus.NewDesc("shadowvault_cluster_refreshes_total", "Refreshes from the bucket of what other nodes stored.", nil, nil),
		requests:  prometheus.NewDesc("shadowvault_cluster_requests_total", "Listings and reads the refreshes made, by kind.", []string{"kind"}, nil),
		published: prometheus.NewDesc("shadowvault_cluster_index_objects_published_total", "Index objects this node published (one per pack).", nil, nil),
		imported:  prometheus.NewDesc("shadowvault_cluster_imported_total", "What the refreshes imported, by kind.", []string{"kind"}, nil),
		last:      prometheus.NewDesc("shadowvault_cluster_last_refresh_seconds", "How long the last refresh took.", nil, nil),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.refreshes, c.requests, c.published, c.imported, c.last} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	st, ok := c.r.ClusterStats()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.refreshes, prometheus.CounterValue, float64(st.Refreshes))
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(st.Lists), "list")
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(st.Gets), "get")
	ch <- prometheus.MustNewConstMetric(c.published, prometheus.CounterValue, float64(st.Published))
	ch <- prometheus.MustNewConstMetric(c.imported, prometheus.CounterValue, float64(st.PacksImported), "packs")
	ch <- prometheus.MustNewConstMetric(c.imported, prometheus.CounterValue, float64(st.SnapshotsImported), "snapshots")
	ch <- prometheus.MustNewConstMetric(c.imported, prometheus.CounterValue, float64(st.SnapshotsDropped), "snapshots_dropped")
	ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, st.LastRefreshSecs)
}
