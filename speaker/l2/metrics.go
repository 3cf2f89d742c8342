package l2

import (
	"fmt"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the Layer 2 announcer does. A nil *Metrics counts
// nothing, so tests and callers without a registry can pass nil.
type Metrics struct {
	requestsAnswered  *prometheus.CounterVec
	gratuitousSent    *prometheus.CounterVec
	ownershipChanges  *prometheus.CounterVec
	membershipChanges *prometheus.CounterVec
	conflictGauge     *prometheus.GaugeVec
	conflictsTotal    *prometheus.CounterVec
	unownedIPs        *prometheus.GaugeVec
}

// NewMetrics creates the Layer 2 metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requestsAnswered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_l2_requests_answered_total",
			Help: "ARP requests and Neighbor Solicitations answered, by protocol and interface.",
		}, []string{"protocol", "interface"}),
		gratuitousSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_l2_gratuitous_sent_total",
			Help: "Gratuitous ARP and unsolicited Neighbor Advertisement packets sent, by protocol and interface.",
		}, []string{"protocol", "interface"}),
		ownershipChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_l2_ownership_changes_total",
			Help: "IPs this node started (gained) or stopped (lost) answering for.",
		}, []string{"direction"}),
		membershipChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_l2_membership_changes_total",
			Help: "Changes of the set of live speakers seen by this node, by kind (join, leave).",
		}, []string{"kind"}),
		conflictGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_l2_address_conflict",
			Help: "1 while another host holds a Service IP this node owns (it answered this node's probe, or claimed the IP while this node answered), by IP and interface where it was seen.",
		}, []string{"ip", "interface"}),
		conflictsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_l2_ip_conflicts_total",
			Help: "IP conflicts detected: another host answered this node's probe before it announced an IP (detected=probe), or claimed an IP this node answers for (detected=announcing).",
		}, []string{"detected"}),
		unownedIPs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_l2_unowned_address",
			Help: "1 for a Layer 2 Service IP that no live node may answer for (none of its eligible nodes is live), so nobody answers ARP/NDP for it; one series per such IP, the same on every speaker.",
		}, []string{"ip"}),
	}
	for _, c := range []prometheus.Collector{m.requestsAnswered, m.gratuitousSent, m.ownershipChanges, m.membershipChanges, m.conflictGauge, m.conflictsTotal, m.unownedIPs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering layer 2 metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) answered(protocol, ifname string) {
	if m != nil {
		m.requestsAnswered.WithLabelValues(protocol, ifname).Inc()
	}
}

func (m *Metrics) gratuitous(protocol, ifname string) {
	if m != nil {
		m.gratuitousSent.WithLabelValues(protocol, ifname).Inc()
	}
}

func (m *Metrics) ownership(direction string, n int) {
	if m != nil && n > 0 {
		m.ownershipChanges.WithLabelValues(direction).Add(float64(n))
	}
}

func (m *Metrics) membership(kind string, n int) {
	if m != nil && n > 0 {
		m.membershipChanges.WithLabelValues(kind).Add(float64(n))
	}
}

// conflicts sets herald_l2_address_conflict to the conflicts of now.
func (m *Metrics) conflicts(cs []Conflict) {
	if m == nil {
		return
	}
	m.conflictGauge.Reset()
	for _, c := range cs {
		m.conflictGauge.WithLabelValues(c.IP.String(), c.Interface).Set(1)
	}
}

func (m *Metrics) conflictDetected(detected string) {
	if m != nil {
		m.conflictsTotal.WithLabelValues(detected).Inc()
	}
}

func (m *Metrics) unowned(ips []netip.Addr) {
	if m == nil {
		return
	}
	m.unownedIPs.Reset()
	for _, ip := range ips {
		m.unownedIPs.WithLabelValues(ip.String()).Set(1)
	}
}
