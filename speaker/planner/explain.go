package planner

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Reasons of Explanation, for the Service condition heraldlb.io/Announced.
const (
	ReasonNotInPool       = "NotInPool"
	ReasonNoAdvertisement = "NoAdvertisement"
	ReasonNoEligibleNode  = "NoEligibleNode"
	ReasonNoReadyEndpoint = "NoReadyEndpoint"
	ReasonNoPeer          = "NoPeer"
)

// Expected is who should announce one Service IP according to the plan.
type Expected struct {
	// IP is the Service IP.
	IP netip.Addr
	// Pool is the pool holding it ("" when none does).
	Pool string
	// BGP maps the nodes that announce it by BGP to the BGPPeers they
	// announce it to.
	BGP map[string][]string
	// L2Nodes are the nodes eligible to answer for it in Layer 2 mode.
	L2Nodes []string
	// Reason and Message say why nobody announces it, when BGP and L2Nodes
	// are empty.
	Reason, Message string
}

// Explain says, for each IP of the Service key ("namespace/name"), which
// nodes should announce it to which peers, or why none does. snap needs
// only that Service and its EndpointSlices besides herald's objects and the
// Nodes, which keeps it cheap.
func Explain(snap *Snapshot, key string) []Expected {
	var svc *corev1.Service
	for i := range snap.Services {
		if snap.Services[i].Namespace+"/"+snap.Services[i].Name == key {
			svc = &snap.Services[i]
		}
	}
	if svc == nil {
		return nil
	}
	w := prepare(snap)
	ips := ServiceIPs(svc)
	out := make([]Expected, len(ips))
	for i, ip := range ips {
		out[i] = Expected{IP: ip, BGP: map[string][]string{}}
		if p := poolOf(w.poolList, ip); p != nil {
			out[i].Pool = p.name
		}
	}
	nodes := make([]string, 0, len(snap.Nodes))
	for _, n := range snap.Nodes {
		nodes = append(nodes, n.Name)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		res := w.plan(n)
		for i := range out {
			for _, nb := range res.Neighbors {
				for _, p := range nb.Prefixes {
					if p.Contains(out[i].IP) && !slices.Contains(out[i].BGP[n], nb.Peer) {
						out[i].BGP[n] = append(out[i].BGP[n], nb.Peer)
					}
				}
			}
			if len(out[i].L2Nodes) == 0 {
				for _, l := range res.L2 {
					if l.IP == out[i].IP {
						out[i].L2Nodes = l.Nodes
					}
				}
			}
		}
	}
	for i := range out {
		e := &out[i]
		for n := range e.BGP {
			sort.Strings(e.BGP[n])
		}
		if len(e.BGP) == 0 && len(e.L2Nodes) == 0 {
			e.Reason, e.Message = w.whyNot(svc, e)
		}
	}
	return out
}

// whyNot finds the first reason nothing announces e.IP.
func (w *world) whyNot(svc *corev1.Service, e *Expected) (string, string) {
	if e.Pool == "" {
		return ReasonNotInPool, fmt.Sprintf("%s is in no IPAddressPool of namespace %s, so no advertisement covers it: add it to a pool", e.IP, w.snap.Namespace)
	}
	p := w.pools[e.Pool]
	var bgpAdvs, l2Advs []string
	for _, a := range w.advs {
		if a.selectsPool(p) {
			bgpAdvs = append(bgpAdvs, a.Name)
		}
	}
	for _, a := range w.snap.L2Advertisements {
		if advSelectsPool(a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, p) {
			l2Advs = append(l2Advs, a.Name)
		}
	}
	if len(bgpAdvs) == 0 && len(l2Advs) == 0 {
		return ReasonNoAdvertisement, fmt.Sprintf("no BGPAdvertisement or L2Advertisement selects pool %s (of %s): create one that names the pool", e.Pool, e.IP)
	}
	// Nodes allowed to announce at all.
	var allowed, excluded []string
	for _, n := range w.snap.Nodes {
		if ok, why, _ := w.nodeAnnounces(&n); ok {
			allowed = append(allowed, n.Name)
		} else {
			excluded = append(excluded, n.Name+" ("+why+")")
		}
	}
	if len(allowed) == 0 {
		return ReasonNoEligibleNode, fmt.Sprintf("no node may announce: %s", strings.Join(excluded, ", "))
	}
	key := svc.Namespace + "/" + svc.Name
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		ready := 0
		for _, n := range allowed {
			if w.ready[key][n] {
				ready++
			}
		}
		if ready == 0 {
			return ReasonNoReadyEndpoint, fmt.Sprintf("externalTrafficPolicy is Local and no node that may announce (%s) has a ready endpoint of the Service: start its pods, or fix their readiness", strings.Join(allowed, ", "))
		}
	}
	if len(bgpAdvs) > 0 && len(w.peers) == 0 {
		return ReasonNoPeer, fmt.Sprintf("BGPAdvertisement %s selects pool %s but there is no usable BGPPeer: create one (or fix the one reported on its status)", strings.Join(bgpAdvs, ", "), e.Pool)
	}
	var advs []string
	for _, a := range bgpAdvs {
		advs = append(advs, "BGPAdvertisement "+a)
	}
	for _, a := range l2Advs {
		advs = append(advs, "L2Advertisement "+a)
	}
	return ReasonNoEligibleNode, fmt.Sprintf("no node is selected by both %s (nodeSelectors) and a BGPPeer's nodeSelectors, among the nodes that may announce (%s): widen the selectors",
		strings.Join(advs, ", "), strings.Join(allowed, ", "))
}
