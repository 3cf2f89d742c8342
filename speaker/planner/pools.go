package planner

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/ipam"
)

// pool is an IPAddressPool's parsed address entries.
type pool struct {
	name    string
	labels  map[string]string
	entries []poolEntry
}

// poolEntry is one entry of a pool's addresses.
type poolEntry struct {
	text string
	r    ipam.Range
	v6   bool
	// lowest is the shortest prefix length of the CIDRs the entry splits
	// into: an aggregation length below it would cover addresses outside.
	lowest int
}

// parsePool parses a pool's addresses; entries that do not parse are
// skipped (the controller reports them on the pool).
func parsePool(ps *v1beta1.IPAddressPool) *pool {
	p := &pool{name: ps.Name, labels: ps.Labels}
	for _, a := range ps.Spec.Addresses {
		r, err := ipam.ParseRange(string(a))
		if err != nil {
			continue
		}
		p.entries = append(p.entries, poolEntry{text: string(a), r: r, v6: r.First.Is6(), lowest: lowestMask(r)})
	}
	return p
}

// poolOf returns the pool holding ip, or nil. The pools the planner uses
// never overlap (decidePools).
func poolOf(pools []*pool, ip netip.Addr) *pool {
	for _, p := range pools {
		for _, e := range p.entries {
			if e.r.Contains(ip) {
				return p
			}
		}
	}
	return nil
}

// lowestMask is the shortest prefix length of an aligned block inside r.
func lowestMask(r ipam.Range) int {
	bits := r.First.BitLen()
	for l := 0; l <= bits; l++ {
		start := netip.PrefixFrom(r.First, l).Masked().Addr()
		if start != r.First {
			next := ipam.LastOf(netip.PrefixFrom(start, l)).Next()
			if !next.IsValid() {
				continue
			}
			start = next
		}
		if ipam.LastOf(netip.PrefixFrom(start, l)).Compare(r.Last) <= 0 {
			return l
		}
	}
	return bits
}

// served reports whether the planner's class serves svc.
func served(svc *corev1.Service, lbClass string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if svc.Spec.LoadBalancerClass == nil {
		return lbClass == ""
	}
	return *svc.Spec.LoadBalancerClass == lbClass
}

// ServiceIPs returns the IPs of a Service's status.loadBalancer.ingress.
func ServiceIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// readyNodes maps "namespace/name" of Services to the nodes holding a ready
// endpoint of theirs (an endpoint whose ready condition is unset counts as
// ready, as the EndpointSlice API says).
func readyNodes(slices []discoveryv1.EndpointSlice) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for i := range slices {
		s := &slices[i]
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		key := s.Namespace + "/" + svc
		for _, ep := range s.Endpoints {
			if ep.NodeName == nil || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
				continue
			}
			if out[key] == nil {
				out[key] = map[string]bool{}
			}
			out[key][*ep.NodeName] = true
		}
	}
	return out
}

// nodeAnnounces reports whether a node may announce anything, and if not
// why; drain is true when the reason is one a node drains for (cordoned,
// a drain taint, the exclude label: see DrainReason), false when it stops
// at once (its NetworkUnavailable condition). A node w.undrain names is
// planned as if it did not drain.
func (w *world) nodeAnnounces(n *corev1.Node) (ok bool, why string, drain bool) {
	if n == nil {
		return true, "", false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionTrue {
			return false, "its NetworkUnavailable condition is True", false
		}
	}
	if n.Name == w.undrain {
		return true, "", false
	}
	if why := DrainReason(n, w.snap.DrainTaints); why != "" {
		return false, why, true
	}
	return true, "", false
}
