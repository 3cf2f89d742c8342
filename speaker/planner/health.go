package planner

import (
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// HealthGates says which nodes' health checks gate which Services: Service
// (namespace/name) → the gated nodes. The speaker fills it from its own
// checks (speaker/health) and from the other nodes' NodeStates
// (.status.healthGated).
type HealthGates map[string][]string

// Gated reports whether node is gated for the Service key.
func (g HealthGates) Gated(key, node string) bool { return slices.Contains(g[key], node) }

// HealthGate is one Service this node's health check gates.
type HealthGate struct {
	// Service is namespace/name.
	Service string
	// FailOpen says the node announces the Service all the same: every
	// node that would announce it is gated, and withdrawing it everywhere
	// would black-hole a Service that may still work (a check that is
	// wrong fails on every node alike).
	FailOpen bool
}

// Health gating rules, applied by plan (BGP) and planL2 (Layer 2).
//
// A node gated for a Service does not announce it: in BGP it leaves the
// Service's prefixes out (unless another Service sharing the IP still
// gives them), in Layer 2 it is not among the nodes eligible to answer for
// the IP, so the owner's role moves to a healthy node. When every node that
// would announce the Service (per mode: for BGP the nodes that announce,
// have a peer and an advertisement of the Service's pool, and for Local a
// ready endpoint; for Layer 2 the nodes eligible for the IP) is gated, no
// node is withheld: gating fails open.

// healthWithheld reports whether node leaves svc's ip out of its BGP
// announcements, and whether it is gated at all.
func (w *world) healthWithheld(svc *corev1.Service, key string, p *pool, node string) (withheld, gated bool) {
	gates := w.snap.HealthGates
	if !gates.Gated(key, node) {
		return false, false
	}
	local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	for name, n := range w.nodes {
		if gates.Gated(key, name) || !w.bgpCandidate(n, key, local, p) {
			continue
		}
		return true, true
	}
	return false, true
}

// bgpCandidate reports whether n would announce a Service of pool p in BGP
// mode, health aside.
func (w *world) bgpCandidate(n *corev1.Node, key string, local bool, p *pool) bool {
	if ok, _, _ := w.nodeAnnounces(n); !ok {
		return false
	}
	if local && !w.ready[key][n.Name] {
		return false
	}
	peer := false
	for i := range w.peers {
		if ok, _ := selects(w.peers[i].Spec.NodeSelectors, n.Labels); ok {
			peer = true
			break
		}
	}
	if !peer {
		return false
	}
	for i := range w.advs {
		if !w.advs[i].selectsPool(p) {
			continue
		}
		if ok, _ := selects(w.advs[i].Spec.NodeSelectors, n.Labels); ok {
			return true
		}
	}
	return false
}

// healthyL2 removes from nodes (eligible for a Service's IP) the nodes
// gated for the Service, unless that would leave none.
func healthyL2(gates HealthGates, key string, nodes map[string]bool) map[string]bool {
	if len(gates[key]) == 0 {
		return nodes
	}
	out := map[string]bool{}
	for n := range nodes {
		if !gates.Gated(key, n) {
			out[n] = true
		}
	}
	if len(out) == 0 {
		return nodes
	}
	return out
}

// healthResult lists the Services this node is gated for, with whether it
// announces them all the same (fail-open).
func healthResult(gated map[string]bool) []HealthGate {
	out := make([]HealthGate, 0, len(gated))
	for k, withheld := range gated {
		out = append(out, HealthGate{Service: k, FailOpen: !withheld})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// Served reports whether herald serves svc when it serves the
// loadBalancerClass lbClass ("" for Services with no class).
func Served(svc *corev1.Service, lbClass string) bool { return served(svc, lbClass) }
