package controllers

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the allocator's Prometheus metrics (docs/ARCHITECTURE.md §6), registered
// on the registry given to NewMetrics.
type Metrics struct {
	addressesTotal  *prometheus.GaugeVec
	addressesInUse  *prometheus.GaugeVec
	failures        *prometheus.CounterVec
	allocations     prometheus.Counter
	restoredAtStart prometheus.Gauge
}

// NewMetrics creates the allocator metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		addressesTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_allocator_addresses_total",
			Help: "Addresses a pool can hand out, per pool and family (saturates at the float64 range for huge IPv6 pools).",
		}, []string{"pool", "family"}),
		addressesInUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_allocator_addresses_in_use",
			Help: "Addresses of a pool assigned to Services, per pool and family.",
		}, []string{"pool", "family"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_allocator_allocation_failures_total",
			Help: "Service allocations that failed, by reason (NoMatchingPool, PoolExhausted, SharingConflict, RequestedIPUnavailable, InvalidRequest).",
		}, []string{"reason"}),
		allocations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_allocator_allocations_total",
			Help: "Services given new or changed IPs.",
		}),
		restoredAtStart: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_allocator_restored_services",
			Help: "Services whose IPs were restored from their status when this replica started leading.",
		}),
	}
	for _, c := range []prometheus.Collector{m.addressesTotal, m.addressesInUse, m.failures, m.allocations, m.restoredAtStart} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering allocator metrics: %w", err)
		}
	}
	return m, nil
}

// poolFamilyStats is one pool's figures for one family, as metrics see them.
type poolFamilyStats struct {
	pool, family     string
	total, available float64
	inUse            float64
}

// setPools replaces the per-pool gauges: pools that are gone lose their
// series.
func (m *Metrics) setPools(stats []poolFamilyStats) {
	m.addressesTotal.Reset()
	m.addressesInUse.Reset()
	for _, s := range stats {
		m.addressesTotal.WithLabelValues(s.pool, s.family).Set(s.total)
		m.addressesInUse.WithLabelValues(s.pool, s.family).Set(s.inUse)
	}
}

func (m *Metrics) failed(reason string) { m.failures.WithLabelValues(reason).Inc() }
