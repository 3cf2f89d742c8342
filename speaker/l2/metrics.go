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
	conflicts         *prometheus.GaugeVec
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
		conflicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_l2_address_conflict",
			Help: "1 while another host answers ARP/NDP for a Service IP this node owns, by IP and interface (no series until conflict detection reports one).",
		}, []string{"ip", "interface"}),
		unownedIPs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_l2_unowned_address",
			Help: "1 for a Layer 2 Service IP that no live node may answer for (none of its eligible nodes is live), so nobody answers ARP/NDP for it; one series per such IP, the same on every speaker.",
		}, []string{"ip"}),
	}
	for _, c := range []prometheus.Collector{m.requestsAnswered, m.gratuitousSent, m.ownershipChanges, m.membershipChanges, m.conflicts, m.unownedIPs} {
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

// Conflict sets herald_l2_address_conflict for ip on ifname: seen while
// another host answers for it, and drops the series once it no longer does.
// Conflict detection, still to be built, is its caller.
func (m *Metrics) Conflict(ip, ifname string, seen bool) {
	if m == nil {
		return
	}
	if seen {
		m.conflicts.WithLabelValues(ip, ifname).Set(1)
	} else {
		m.conflicts.DeleteLabelValues(ip, ifname)
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
