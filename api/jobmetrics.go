package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shadowvault/shadowvault/repo"
)

// jobCollector exports the job history's figures at each scrape: per VM
// the time of its last successful and last failed backup (read at start
// from the history and the catalogue, so a restart keeps them), and the
// jobs ended since the server started, by kind and result.
type jobCollector struct {
	h                *repo.History
	success, failure *prometheus.Desc
	jobs             *prometheus.Desc
}

func newJobCollector(h *repo.History) *jobCollector {
	return &jobCollector{
		h: h,
		success: prometheus.NewDesc("shadowvault_vm_last_success_timestamp_seconds",
			"Unix time of the VM's last successful backup (the commit of its newest snapshot or backup job).", []string{"host", "vm"}, nil),
		failure: prometheus.NewDesc("shadowvault_vm_last_failure_timestamp_seconds",
			"Unix time of the VM's last failed backup (a failed upload or complete, an expired session), as the job history knows it.", []string{"host", "vm"}, nil),
		jobs: prometheus.NewDesc("shadowvault_jobs_total",
			"Jobs ended since the server started, by kind (backup, prune, check, repair, forget) and result (success, failed, aborted).", []string{"kind", "result"}, nil),
	}
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.success
	ch <- c.failure
	ch <- c.jobs
}

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.h.VMs() {
		if !st.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.success, prometheus.GaugeValue, unixSeconds(st.LastSuccess), st.Host, st.VM)
		}
		if !st.LastFailure.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.failure, prometheus.GaugeValue, unixSeconds(st.LastFailure), st.Host, st.VM)
		}
	}
	for kind, byResult := range c.h.Counts() {
		for result, n := range byResult {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.CounterValue, float64(n), kind.String(), result.String())
		}
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
