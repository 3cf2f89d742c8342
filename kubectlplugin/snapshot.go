package kubectlplugin

import (
	"github.com/heraldlb/herald/internal/verdict"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/ipam"
)

// Service condition types the controller writes (see controllers).
const (
	ConditionIPAllocated = "heraldlb.io/IPAllocated"
	ConditionAnnounced   = "heraldlb.io/Announced"
)

// Snapshot is what the commands read from the cluster. Load fills it; tests
// may build it by hand. Lists need not be sorted.
type Snapshot struct {
	// Namespace is herald's namespace.
	Namespace string
	// LBClass is the spec.loadBalancerClass herald serves ("" for none).
	LBClass string

	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	Nodes          []corev1.Node
	Namespaces     []corev1.Namespace
	Secrets        []corev1.Secret
	Events         []corev1.Event

	Pools             []v1beta1.IPAddressPool
	Peers             []v1beta1.BGPPeer
	BFDProfiles       []v1beta1.BFDProfile
	BGPAdvertisements []v1beta1.BGPAdvertisement
	L2Advertisements  []v1beta1.L2Advertisement
	Communities       []v1beta1.Community
	NodeStates        []v1beta1.NodeState

	// Warnings are things Load could not read (a forbidden Secret), shown
	// by the commands whose answer they weaken.
	Warnings []string
	// Now is when the snapshot was read: drill annotations are judged at
	// it (zero honours none).
	Now time.Time
}

// serviceIPs returns the addresses in a Service's status.
func serviceIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// poolOf returns the name of the pool in effect holding ip, or "": a pool
// overlapping an older one holds none of its addresses (internal/verdict,
// as the controller and the speakers judge).
func (s *Snapshot) poolOf(ip netip.Addr) string {
	v := verdict.DecidePools(s.Pools)
	for _, p := range s.Pools {
		if rej, ok := v.Rejected[p.Name]; ok && rej.Reason == verdict.ReasonOverlappingPool {
			continue
		}
		for _, a := range p.Spec.Addresses {
			r, err := ipam.ParseRange(string(a))
			if err == nil && r.Contains(ip) {
				return p.Name
			}
		}
	}
	return ""
}

// loadBalancers returns the LoadBalancer Services sorted by namespace/name.
func (s *Snapshot) loadBalancers() []*corev1.Service {
	var out []*corev1.Service
	for i := range s.Services {
		if s.Services[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
			out = append(out, &s.Services[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func key(o metav1.Object) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

// service returns the Service namespace/name, or nil.
func (s *Snapshot) service(k string) *corev1.Service {
	for i := range s.Services {
		if key(&s.Services[i]) == k {
			return &s.Services[i]
		}
	}
	return nil
}

// nodeState returns the NodeState of node, or nil.
func (s *Snapshot) nodeState(node string) *v1beta1.NodeState {
	for i := range s.NodeStates {
		if s.NodeStates[i].Name == node {
			return &s.NodeStates[i]
		}
	}
	return nil
}

// nodeNames returns the nodes known from Nodes and NodeStates, sorted.
func (s *Snapshot) nodeNames() []string {
	var out []string
	for _, n := range s.Nodes {
		out = append(out, n.Name)
	}
	for _, n := range s.NodeStates {
		out = append(out, n.Name)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// bgpRoute is one node announcing an IP to one peer, as its NodeState says.
type bgpRoute struct {
	node, peer, vrf, prefix, session string
}

// l2Route is one node answering for an IP on an interface.
type l2Route struct {
	node, iface string
}

// announcedBy returns who announces ip according to the NodeStates, sorted
// by node then peer.
func (s *Snapshot) announcedBy(ip netip.Addr) ([]bgpRoute, []l2Route) {
	var bgp []bgpRoute
	var l2 []l2Route
	for _, ns := range s.NodeStates {
		for _, a := range ns.Status.BGPAnnouncements {
			for _, p := range a.Prefixes {
				pfx, err := netip.ParsePrefix(p)
				if err != nil || !pfx.Contains(ip) {
					continue
				}
				bgp = append(bgp, bgpRoute{node: ns.Name, peer: a.Peer, vrf: a.VRF, prefix: p, session: sessionState(&ns, a.Peer, a.VRF)})
			}
		}
		for _, a := range ns.Status.L2Announcements {
			if addr, err := netip.ParseAddr(a.IP); err == nil && addr.Unmap() == ip {
				l2 = append(l2, l2Route{node: ns.Name, iface: a.Interface})
			}
		}
	}
	sort.Slice(bgp, func(i, j int) bool {
		if bgp[i].node != bgp[j].node {
			return bgp[i].node < bgp[j].node
		}
		return bgp[i].peer < bgp[j].peer
	})
	sort.Slice(l2, func(i, j int) bool { return l2[i].node+l2[i].iface < l2[j].node+l2[j].iface })
	return bgp, l2
}

// sessionState returns the state of the node's session with peer, or
// "unknown".
func sessionState(ns *v1beta1.NodeState, peer, vrf string) string {
	for _, s := range ns.Status.BGPSessions {
		if s.Peer == peer && s.VRF == vrf {
			return s.State
		}
	}
	return "unknown"
}

// condition returns the Service condition t, or nil.
func condition(svc *corev1.Service, t string) *metav1.Condition {
	return meta.FindStatusCondition(svc.Status.Conditions, t)
}

// condSummary prints a condition as "True", "False (Reason)" or "-".
func condSummary(c *metav1.Condition) string {
	if c == nil {
		return "-"
	}
	if c.Status == metav1.ConditionTrue {
		return "True"
	}
	return string(c.Status) + " (" + c.Reason + ")"
}

// joinOr joins ss with sep, or returns dash when ss is empty.
func joinOr(ss []string, sep, dash string) string {
	if len(ss) == 0 {
		return dash
	}
	return strings.Join(ss, sep)
}
