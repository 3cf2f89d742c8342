package health

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the health checks' Prometheus metrics (docs/metrics.md).
type Metrics struct {
	failures *prometheus.CounterVec
	gated    prometheus.Gauge
}

// NewMetrics registers the health check metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_health_check_failures_total",
			Help: "Health check rounds that failed on this node (no local endpoint of the Service passed), by Service (namespace/name).",
		}, []string{"service"}),
		gated: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_health_gated_services",
			Help: "Services whose health check gates this node (failed fall rounds in a row and not yet passed rise), announced or not (see NodeState .status.healthGated).",
		}),
	}
	for _, c := range []prometheus.Collector{m.failures, m.gated} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering health check metrics: %w", err)
		}
	}
	return m, nil
}
