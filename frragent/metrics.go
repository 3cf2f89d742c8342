package frragent

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the agent's Prometheus collectors.
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
