package speaker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the speaker's Prometheus metrics (docs/ARCHITECTURE.md §6).
type Metrics struct {
	applies       *prometheus.CounterVec
	applyDuration *prometheus.HistogramVec
	generation    prometheus.Gauge
	sessionUp     *prometheus.GaugeVec
	prefixes      *prometheus.GaugeVec
	bfdUp         *prometheus.GaugeVec
	announcements *prometheus.GaugeVec
	problems      prometheus.Gauge
	agentErrors   *prometheus.CounterVec
}

// NewMetrics registers the speaker's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_frr_apply_total",
			Help: "FRR configurations given to the frr-agent, by result (Applied, Rejected, Failed) and method (Incremental, Reload).",
		}, []string{"result", "method"}),
		applyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_frr_apply_duration_seconds",
			Help:    "Time the frr-agent took to apply a configuration, by method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_frr_config_generation",
			Help: "Generation of the last FRR configuration the speaker rendered.",
		}),
		sessionUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_bgp_session_up",
			Help: "1 when the BGP session with the peer is Established, else 0.",
		}, []string{"peer", "vrf", "bgppeer"}),
		prefixes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_bgp_prefixes_advertised",
			Help: "Prefixes FRR advertises to the peer.",
		}, []string{"peer", "vrf", "bgppeer"}),
		bfdUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_bfd_session_up",
			Help: "1 when the BFD session with the peer is up, else 0.",
		}, []string{"peer", "vrf"}),
		announcements: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_announcements",
			Help: "Service addresses this node announces, by mode (bgp: prefixes in the FRR model; l2: IPs answered for).",
		}, []string{"mode"}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_config_problems",
			Help: "Cross-object configuration problems the planner found (see the objects' status).",
		}),
		agentErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_frr_agent_errors_total",
			Help: "Calls to the frr-agent that failed, by call (apply, state).",
		}, []string{"call"}),
	}
	for _, c := range []prometheus.Collector{m.applies, m.applyDuration, m.generation, m.sessionUp, m.prefixes, m.bfdUp, m.announcements, m.problems, m.agentErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering speaker metrics: %w", err)
		}
	}
	return m, nil
}
