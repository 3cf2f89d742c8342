package controllers

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Metrics are the controller's Prometheus metrics (docs/metrics.md lists
// every name, type and label), registered on the registry given to
// NewMetrics.
type Metrics struct {
	addresses       *prometheus.GaugeVec
	addressesInUse  *prometheus.GaugeVec
	failures        *prometheus.CounterVec
	allocations     prometheus.Counter
	restoredAtStart prometheus.Gauge
	eventsSkipped   prometheus.Counter
	leader          prometheus.Gauge
}

// NewMetrics creates the controller's metrics and registers them on reg,
// with a collector that reads Services and NodeStates from cluster (the
// manager's cache) at each scrape; lbClass is the class the controller
// serves. A nil cluster reports no Service or NodeState series.
func NewMetrics(reg prometheus.Registerer, cluster client.Reader, lbClass string) (*Metrics, error) {
	m := &Metrics{
		addresses: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_pool_addresses",
			Help: "Addresses an IPAddressPool can hand out, per pool and family (saturates at the float64 range for huge IPv6 pools).",
		}, []string{"pool", "family"}),
		addressesInUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_pool_addresses_in_use",
			Help: "Addresses of an IPAddressPool assigned to Services, per pool and family.",
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
		eventsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_events_skipped_total",
			Help: "Normal events not sent because they came faster than --event-qps allows (Warning events are never skipped).",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_controller_leader",
			Help: "1 while this controller replica holds the leader Lease (only the leader allocates), else 0.",
		}),
	}
	cs := []prometheus.Collector{m.addresses, m.addressesInUse, m.failures, m.allocations, m.restoredAtStart, m.eventsSkipped, m.leader,
		newClusterCollector(cluster, lbClass)}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the controller's metrics: %w", err)
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
	m.addresses.Reset()
	m.addressesInUse.Reset()
	for _, s := range stats {
		m.addresses.WithLabelValues(s.pool, s.family).Set(s.total)
		m.addressesInUse.WithLabelValues(s.pool, s.family).Set(s.inUse)
	}
}

func (m *Metrics) failed(reason string) { m.failures.WithLabelValues(reason).Inc() }

// leaderGauge sets herald_controller_leader: 0 from the start, 1 once the
// manager says this replica leads (it stays the leader until the process
// ends: controller-runtime exits when it loses the Lease).
type leaderGauge struct {
	mgr   interface{ Elected() <-chan struct{} }
	gauge prometheus.Gauge
}

// Start implements manager.Runnable.
func (l leaderGauge) Start(ctx context.Context) error {
	l.gauge.Set(0)
	select {
	case <-l.mgr.Elected():
		l.gauge.Set(1)
	case <-ctx.Done():
	}
	<-ctx.Done()
	l.gauge.Set(0)
	return nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: it runs in
// every replica.
func (leaderGauge) NeedLeaderElection() bool { return false }
