package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shadowvault/shadowvault/repo"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	streamed  prometheus.Counter
	newBytes  prometheus.Counter
	completed *prometheus.CounterVec
	// uploadsRefused counts disk uploads refused by Options.MaxUploads.
	uploadsRefused prometheus.Counter
	// sync counts what sync jobs copied (syncmetrics.go).
	sync *syncMetrics
}

// newMetrics registers the metrics; inFlight reports the disk uploads in
// flight.
func newMetrics(r *repo.Repository, inFlight func() int64) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowvault_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "shadowvault_http_request_seconds", Help: "HTTP request duration by route.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"route"})
	m.streamed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shadowvault_ingest_stream_bytes_total", Help: "Bytes of disk streams received.",
	})
	m.newBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shadowvault_ingest_new_bytes_total", Help: "Raw bytes of chunks stored for the first time.",
	})
	m.completed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowvault_sessions_total", Help: "Sessions ended, by outcome.",
	}, []string{"outcome"})
	m.uploadsRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shadowvault_uploads_refused_total", Help: "Disk uploads refused because too many were in flight.",
	})
	uploads := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shadowvault_uploads_in_flight", Help: "Disk uploads in flight.",
	}, func() float64 { return float64(inFlight()) })
	repoStats := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shadowvault_sessions_open", Help: "Sessions in flight.",
	}, func() float64 { return float64(len(r.Sessions())) })
	stored := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shadowvault_repository_stored_bytes", Help: "Bytes of packs in the repository.",
	}, func() float64 {
		_, _, b, _ := r.Counts()
		return float64(b)
	})
	m.reg.MustRegister(m.requests, m.latency, m.streamed, m.newBytes, m.completed, repoStats, stored, m.uploadsRefused, uploads,
		newJobCollector(r.History()), newClusterCollector(r),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.sync = newSyncMetrics(r, m.reg)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe records one request; route is the chi route pattern.
func (m *metrics) observe(route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}
