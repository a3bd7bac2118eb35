package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shadowvault/shadowvault/replicate"
	"github.com/shadowvault/shadowvault/repo"
)

// syncMetrics count what sync jobs copied into this repository, by source
// repository id, and tell each source's last successful sync (from the
// job history, so that it survives a restart).
type syncMetrics struct {
	bytesSent     *prometheus.CounterVec
	chunksSent    *prometheus.CounterVec
	chunksSkipped *prometheus.CounterVec
}

func newSyncMetrics(r *repo.Repository, reg *prometheus.Registry) *syncMetrics {
	m := &syncMetrics{
		bytesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowvault_sync_bytes_sent_total", Help: "Chunk bytes sync jobs read from a source repository.",
		}, []string{"source"}),
		chunksSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowvault_sync_chunks_sent_total", Help: "Chunks sync jobs read from a source repository.",
		}, []string{"source"}),
		chunksSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowvault_sync_chunks_skipped_total", Help: "Chunks sync jobs found on this repository and did not read.",
		}, []string{"source"}),
	}
	reg.MustRegister(m.bytesSent, m.chunksSent, m.chunksSkipped, &lastSyncCollector{r: r})
	return m
}

// syncProgress adds what a sync did since its last figures.
func (m *metrics) syncProgress(prev, now replicate.Stats) {
	if m.sync == nil || now.Source == "" {
		return
	}
	m.sync.bytesSent.WithLabelValues(now.Source).Add(float64(now.BytesSent - prev.BytesSent))
	m.sync.chunksSent.WithLabelValues(now.Source).Add(float64(now.ChunksSent - prev.ChunksSent))
	m.sync.chunksSkipped.WithLabelValues(now.Source).Add(float64(now.ChunksSkipped - prev.ChunksSkipped))
}

var lastSyncDesc = prometheus.NewDesc("shadowvault_sync_last_success_timestamp_seconds",
	"When the last successful sync from a source repository ended.", []string{"source"}, nil)

// lastSyncCollector reads each source's last successful sync from the job
// history at each scrape.
type lastSyncCollector struct{ r *repo.Repository }

func (c *lastSyncCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lastSyncDesc }

func (c *lastSyncCollector) Collect(ch chan<- prometheus.Metric) {
	last, err := c.r.LastSyncs()
	if err != nil {
		return
	}
	for src, t := range last {
		ch <- prometheus.MustNewConstMetric(lastSyncDesc, prometheus.GaugeValue, float64(t.Unix()), src)
	}
}
