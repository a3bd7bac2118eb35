package api

import "github.com/prometheus/client_golang/prometheus"

// scheduleCollector computes the schedule metrics at scrape time, from
// the same view as GET /api/v1/schedules/status.
type scheduleCollector struct{ s *Server }

var (
	descWindowEnd = prometheus.NewDesc("shadowvault_schedule_window_end_timestamp_seconds",
		"End of the last window that should hold a backup of the VM (Unix time).", []string{"schedule", "host", "vm"}, nil)
	descMissed = prometheus.NewDesc("shadowvault_schedule_missed",
		"1 when the VM's last window ended with no successful backup in it or since, else 0.", []string{"schedule", "host", "vm"}, nil)
)

func (c *scheduleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWindowEnd
	ch <- descMissed
}

func (c *scheduleCollector) Collect(ch chan<- prometheus.Metric) {
	v, err := c.s.scheduleView("")
	if err != nil {
		c.s.log.Warn("schedule metrics", "err", err)
		return
	}
	for _, row := range v.status() {
		missed := 0.0
		if row.Missed {
			missed = 1
		}
		ch <- prometheus.MustNewConstMetric(descMissed, prometheus.GaugeValue, missed, row.Schedule, row.Host, row.VM)
		if !row.windowEnd.IsZero() {
			ch <- prometheus.MustNewConstMetric(descWindowEnd, prometheus.GaugeValue, float64(row.windowEnd.Unix()), row.Schedule, row.Host, row.VM)
		}
	}
}
