package impact

import (
	"errors"
	"fmt"
	"github.com/heraldlb/herald/internal/verdict"
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/ipam"
	"github.com/heraldlb/herald/speaker/planner"
)

// Allocation is what the controller would do to one Service's IPs.
type Allocation struct {
	// Service is namespace/name.
	Service string `json:"service"`
	// Before and After are the IPs it holds and would hold.
	Before []netip.Addr `json:"before"`
	After  []netip.Addr `json:"after"`
	// Reason says why After differs from Before, or why the Service gets
	// none (the allocator's message).
	Reason string `json:"reason"`
}

// Predict gives the LoadBalancer Services of snap the IPs the controller
// would give them with snap's pools: every Service keeps the IPs in its
// status while they are still in a pool that admits it (restored oldest
// first, as the controller does at start), then each served Service is
// allocated, oldest first and new ones (no creation time) last; a Service
// whose allocation fails keeps its IPs unless one left every pool, then it
// has none. nsLabels are the labels of each namespace (namespaceSelectors).
// Predict rewrites snap.Services' status.loadBalancer.ingress in place
// (on copies: the caller's Services are not modified) and returns the
// Services whose IPs change or that get none, sorted.
func Predict(snap *planner.Snapshot, nsLabels map[string]map[string]string) []Allocation {
	a := ipam.New()
	var pools []ipam.Pool
	// The controller's verdict: a pool overlapping an older one serves
	// nothing (internal/verdict, shared with the controller and planner).
	v := verdict.DecidePools(snap.Pools)
	for i := range snap.Pools {
		if rej, ok := v.Rejected[snap.Pools[i].Name]; ok && rej.Reason == verdict.ReasonOverlappingPool {
			continue
		}
		p, err := verdict.IPAMPool(&snap.Pools[i])
		if err != nil {
			continue // an unusable pool serves no IP (the controller keeps its last good one; the API holds none)
		}
		pools = append(pools, p)
	}
	a.SetPools(pools)

	svcs := slices.Clone(snap.Services)
	snap.Services = svcs
	var order []int
	for i := range svcs {
		if controllers.Serves(&svcs[i], snap.LBClass) {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(x, y int) bool {
		si, sj := &svcs[order[x]], &svcs[order[y]]
		ti, tj := si.CreationTimestamp, sj.CreationTimestamp
		switch {
		case ti.IsZero() != tj.IsZero():
			return tj.IsZero()
		case !ti.Equal(&tj):
			return ti.Before(&tj)
		}
		return si.Namespace+"/"+si.Name < sj.Namespace+"/"+sj.Name
	})
	reqs := make(map[int]ipam.Service, len(order))
	reqErrs := map[int]error{}
	for _, i := range order {
		svc := &svcs[i]
		s, err := controllers.IPAMService(svc, nsLabels[svc.Namespace])
		if err != nil {
			// As the controller does: an unreadable request keeps the IPs
			// it holds, restored with no request.
			reqErrs[i] = err
			s = ipam.Service{Key: svc.Namespace + "/" + svc.Name, Namespace: svc.Namespace, NamespaceLabels: nsLabels[svc.Namespace]}
		}
		reqs[i] = s
		if ips := controllers.StatusIPs(svc); len(ips) > 0 {
			_ = a.Restore(s, ips) // a failure means it is allocated again below
		}
	}
	var out []Allocation
	for _, i := range order {
		svc := &svcs[i]
		key := reqs[i].Key
		before := controllers.StatusIPs(svc)
		var after []netip.Addr
		err := reqErrs[i]
		if err == nil {
			after, err = a.Allocate(reqs[i])
		}
		reason := ""
		if err != nil {
			var ie *ipam.Error
			if errors.As(err, &ie) {
				reason = string(ie.Reason) + ": " + ie.Message
			} else {
				reason = "InvalidRequest: " + err.Error()
			}
			// Keep what it holds unless an address left every pool (an
			// address in no pool was never restored).
			after = a.Assigned(key)
			for _, ip := range before {
				if _, ok := a.PoolOf(ip); !ok {
					a.Release(key)
					after = nil
					reason += fmt.Sprintf(" (%s left every pool and is released)", ip)
					break
				}
			}
		}
		if !sameAddrs(before, after) || len(after) == 0 {
			if reason == "" {
				reason = describeMove(a, before, after)
			}
			out = append(out, Allocation{Service: key, Before: before, After: after, Reason: reason})
		}
		svc.Status = *svc.Status.DeepCopy()
		svc.Status.LoadBalancer.Ingress = nil
		for _, ip := range after {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// describeMove says why a Service's IPs changed.
func describeMove(a *ipam.Allocator, before, after []netip.Addr) string {
	switch {
	case len(before) == 0:
		var pools []string
		for _, ip := range after {
			if p, ok := a.PoolOf(ip); ok {
				pools = append(pools, p)
			}
		}
		return fmt.Sprintf("allocated from pool %v", slices.Compact(pools))
	default:
		for _, ip := range before {
			if !slices.Contains(after, ip) {
				if p, ok := a.PoolOf(ip); ok {
					return fmt.Sprintf("%s is still in pool %s but no longer admitted for this Service", ip, p)
				}
				return fmt.Sprintf("%s left every pool", ip)
			}
		}
		return "IPs change"
	}
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}
