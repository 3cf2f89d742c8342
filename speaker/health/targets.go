package health

import (
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Target is one Service's check on one node: what the Runner probes.
type Target struct {
	// Service is namespace/name.
	Service string
	// Check is the parsed check.
	Check Check
	// Addrs are the local endpoints' addresses, sorted.
	Addrs []netip.Addr
}

// Invalid is a Service whose check annotations do not parse.
type Invalid struct {
	// Service is namespace/name.
	Service string
	// Err names the annotation and the fix.
	Err error
}

// Targets returns the checks node runs: one per Service with a valid check
// and at least one endpoint on node (nodeName node, not known unready),
// sorted by Service; and the Services whose annotations do not parse.
// serve says whether herald serves a Service (type, class).
func Targets(services []corev1.Service, slices_ []discoveryv1.EndpointSlice, node string, serve func(*corev1.Service) bool) ([]Target, []Invalid) {
	checks := map[string]*Check{}
	var invalid []Invalid
	for i := range services {
		svc := &services[i]
		if serve != nil && !serve(svc) {
			continue
		}
		c, err := Parse(svc.Annotations)
		key := svc.Namespace + "/" + svc.Name
		if err != nil {
			invalid = append(invalid, Invalid{Service: key, Err: err})
			continue
		}
		if c != nil {
			checks[key] = c
		}
	}
	addrs := map[string][]netip.Addr{}
	for i := range slices_ {
		s := &slices_[i]
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := s.Namespace + "/" + name
		if checks[key] == nil {
			continue
		}
		for _, e := range s.Endpoints {
			if e.NodeName == nil || *e.NodeName != node || (e.Conditions.Ready != nil && !*e.Conditions.Ready) {
				continue
			}
			for _, a := range e.Addresses {
				if ip, err := netip.ParseAddr(a); err == nil {
					addrs[key] = append(addrs[key], ip)
				}
			}
		}
	}
	out := make([]Target, 0, len(addrs))
	for key, as := range addrs {
		slices.SortFunc(as, func(a, b netip.Addr) int { return a.Compare(b) })
		out = append(out, Target{Service: key, Check: *checks[key], Addrs: slices.Compact(as)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	sort.Slice(invalid, func(i, j int) bool { return invalid[i].Service < invalid[j].Service })
	return out, invalid
}
