package frragent

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the agent's Prometheus collectors (docs/metrics.md lists
// every herald metric). The agent is the one that applies, so the apply
// counts and durations are its own; the speaker counts what it handed over.
type metrics struct {
	applies  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_frr_apply_total",
			Help: "FRR config applies by result (success, rejected, failed) and method (incremental, reload, none).",
		}, []string{"result", "method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_frr_apply_duration_seconds",
			Help:    "Time to apply an FRR config, validation and check included, by method.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.applies, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(r Result) {
	result := "success"
	switch {
	case r.Success:
	case len(r.Rejected) > 0:
		result = "rejected"
	default:
		result = "failed"
	}
	m.applies.WithLabelValues(result, string(r.Method)).Inc()
	m.duration.WithLabelValues(string(r.Method)).Observe(r.Duration.Seconds())
}

// daemonCollector reports herald_frr_daemon_up at scrape time: whether each
// daemon of Options.Daemons answers on its vty (the check /v1/health makes).
type daemonCollector struct {
	agent *Agent
	up    *prometheus.Desc
}

// RegisterDaemonMetrics registers herald_frr_daemon_up{daemon} on reg: at
// each scrape the agent checks its daemons as /v1/health does (at most 2s
// a daemon), 1 for a daemon that answers, 0 for one that does not.
func RegisterDaemonMetrics(reg prometheus.Registerer, a *Agent) error {
	c := &daemonCollector{agent: a, up: prometheus.NewDesc("herald_frr_daemon_up",
		"1 when the FRR daemon answers a command on its vty socket, else 0, checked at each scrape.",
		[]string{"daemon"}, nil)}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("registering herald_frr_daemon_up: %w", err)
	}
	return nil
}

// Describe implements prometheus.Collector.
func (c *daemonCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.up }

// Collect implements prometheus.Collector.
func (c *daemonCollector) Collect(ch chan<- prometheus.Metric) {
	if c.agent == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, d := range c.agent.Health(ctx).Daemons {
		v := 0.0
		if d.Up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, v, d.Name)
	}
}
