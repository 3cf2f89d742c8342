package kubectlplugin

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/internal/drill"
	"github.com/heraldlb/herald/ipam"
	"github.com/heraldlb/herald/speaker/planner"
)

// ErrNotFound is returned by FormatWhy when the Service is not in the
// snapshot.
var ErrNotFound = fmt.Errorf("not found")

// FormatWhy prints `kubectl herald why NAMESPACE/NAME`: the Service's
// conditions, each pool and whether it could serve the Service (and why
// not), the advertisements and peers that apply to its pools, which nodes
// announce it and which do not and why, and its recent Events. The output
// depends only on snap.
func FormatWhy(w io.Writer, snap *Snapshot, svcKey string) error {
	svc := snap.service(svcKey)
	if svc == nil {
		return fmt.Errorf("service %s: %w", svcKey, ErrNotFound)
	}
	p := &printer{w: w}
	ips := serviceIPs(svc)
	var addrs []string
	for _, ip := range ips {
		s := ip.String()
		if pool := snap.poolOf(ip); pool != "" {
			s += " (pool " + pool + ")"
		} else {
			s += " (in no pool)"
		}
		addrs = append(addrs, s)
	}
	p.f("Service %s: type %s, externalTrafficPolicy %s", svcKey, svc.Spec.Type, orDash(string(svc.Spec.ExternalTrafficPolicy)))
	p.f("  IPs: %s", joinOr(addrs, ", ", "none"))
	served := whyServed(snap, svc)
	if served != "" {
		p.f("  herald does not serve it: %s", served)
	}
	req, reqErr := controllers.ReadRequest(svc)
	if reqErr != nil {
		p.f("  request: unreadable: %v", reqErr)
	} else {
		var rs []string
		for _, ip := range req.IPs {
			rs = append(rs, ip.String())
		}
		p.f("  requests: IPs %s, pool %s, sharing key %s", joinOr(rs, ",", "-"), orDash(req.Pool), orDash(req.SharingKey))
	}

	p.f("")
	p.f("Conditions:")
	for _, t := range []string{ConditionIPAllocated, ConditionAnnounced} {
		c := condition(svc, t)
		if c == nil {
			p.f("  %s: not set (the controller has not handled this Service)", t)
			continue
		}
		p.f("  %s: %s, reason %s", t, c.Status, c.Reason)
		if c.Message != "" {
			p.f("    %s", c.Message)
		}
	}

	p.f("")
	p.f("Pools:")
	if len(snap.Pools) == 0 {
		p.f("  none: create an IPAddressPool in namespace %s", snap.Namespace)
	}
	pools := slices.Clone(snap.Pools)
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	for i := range pools {
		pool := &pools[i]
		verdict := "could serve it"
		if reqErr == nil {
			if why := poolMismatch(snap, svc, req, pool); why != "" {
				verdict = "does not serve it: " + why
			}
		}
		if holds(pool, ips) {
			verdict = "holds its IP"
		}
		p.f("  %s (%s; available IPv4 %s, IPv6 %s): %s", pool.Name, strings.Join(addrStrings(pool), ","),
			orDash(pool.Status.AvailableIPv4), orDash(pool.Status.AvailableIPv6), verdict)
		for _, c := range pool.Status.Conditions {
			if c.Status != metav1.ConditionTrue {
				p.f("    condition %s %s (%s): %s", c.Type, c.Status, c.Reason, c.Message)
			}
		}
	}

	whyAnnounce(p, snap, svc, ips)

	p.f("")
	p.f("Events:")
	var evs []corev1.Event
	for _, e := range snap.Events {
		if e.InvolvedObject.Kind == "Service" && e.InvolvedObject.Namespace == svc.Namespace && e.InvolvedObject.Name == svc.Name {
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return eventTime(&evs[i]).Time.Before(eventTime(&evs[j]).Time) })
	if len(evs) > 10 {
		evs = evs[len(evs)-10:]
	}
	for _, e := range evs {
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (x%d)", e.Count)
		}
		p.f("  %s %s: %s%s", e.Type, e.Reason, e.Message, count)
	}
	if len(evs) == 0 {
		p.f("  none")
	}
	for _, warn := range snap.Warnings {
		p.f("warning: %s", warn)
	}
	return p.err
}

// whyAnnounce prints the advertisements, peers and nodes for the Service's
// pools.
func whyAnnounce(p *printer, snap *Snapshot, svc *corev1.Service, ips []netip.Addr) {
	var pools []string
	for _, ip := range ips {
		if pool := snap.poolOf(ip); pool != "" && !slices.Contains(pools, pool) {
			pools = append(pools, pool)
		}
	}
	p.f("")
	p.f("Advertisements of its pools (%s):", joinOr(pools, ",", "none"))
	n := 0
	for _, a := range sortedByName(snap.BGPAdvertisements) {
		if advertises(snap, a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, pools) {
			n++
			p.f("  BGPAdvertisement %s: peers %s, nodes %s, communities %s, localPref %s", a.Name,
				joinOr(a.Spec.Peers, ",", "all"), selectors(a.Spec.NodeSelectors), joinOr(communities(a.Spec.Communities), ",", "-"), localPref(a.Spec.LocalPref))
			notAccepted(p, a.Status.Conditions)
		}
	}
	for _, a := range sortedByName(snap.L2Advertisements) {
		if advertises(snap, a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, pools) {
			n++
			var ifs []string
			for _, i := range a.Spec.Interfaces {
				ifs = append(ifs, string(i))
			}
			p.f("  L2Advertisement %s: nodes %s, interfaces %s", a.Name, selectors(a.Spec.NodeSelectors), joinOr(ifs, ",", "all"))
			notAccepted(p, a.Status.Conditions)
		}
	}
	if n == 0 {
		p.f("  none: nothing announces these pools; create a BGPAdvertisement or L2Advertisement naming them")
	}
	p.f("")
	p.f("Peers:")
	for _, peer := range sortedByName(snap.Peers) {
		addr := peer.Spec.PeerAddress
		if addr == "" {
			addr = "interface " + peer.Spec.Interface
		}
		asn := fmt.Sprint(peer.Spec.PeerASN)
		if peer.Spec.DynamicASN != "" {
			asn = string(peer.Spec.DynamicASN)
		}
		p.f("  %s: %s, AS %d → %s, nodes %s", peer.Name, addr, peer.Spec.MyASN, asn, selectors(peer.Spec.NodeSelectors))
		notAccepted(p, peer.Status.Conditions)
	}
	if len(snap.Peers) == 0 {
		p.f("  none")
	}

	p.f("")
	p.f("Nodes:")
	var expected []planner.Expected
	if len(ips) > 0 {
		ps := planner.Snapshot{Namespace: snap.Namespace, LBClass: snap.LBClass, Services: []corev1.Service{*svc},
			EndpointSlices: snap.EndpointSlices, Nodes: snap.Nodes, Secrets: snap.Secrets, Pools: snap.Pools, Peers: snap.Peers,
			BFDProfiles: snap.BFDProfiles, BGPAdvertisements: snap.BGPAdvertisements, L2Advertisements: snap.L2Advertisements,
			Communities: snap.Communities}
		expected = planner.Explain(&ps, key(svc))
	}
	for _, name := range snap.nodeNames() {
		var lines []string
		for i, ip := range ips {
			routes, answers := snap.announcedBy(ip)
			var did []string
			for _, r := range routes {
				if r.node == name {
					did = append(did, fmt.Sprintf("announces %s to %s (session %s)", r.prefix, r.peer, r.session))
				}
			}
			for _, a := range answers {
				if a.node == name {
					did = append(did, fmt.Sprintf("answers for %s on %s (L2)", ip, a.iface))
				}
			}
			var exp *planner.Expected
			if i < len(expected) {
				exp = &expected[i]
			}
			if len(did) > 0 {
				lines = append(lines, did...)
				continue
			}
			lines = append(lines, fmt.Sprintf("does not announce %s: %s", ip, notAnnouncing(snap, svc, name, exp)))
		}
		if len(ips) == 0 {
			lines = append(lines, "nothing to announce: the Service has no IP")
		}
		p.f("  %s: %s", name, lines[0])
		for _, l := range lines[1:] {
			p.f("  %s  %s", strings.Repeat(" ", len(name)), l)
		}
	}
	if len(snap.nodeNames()) == 0 {
		p.f("  none")
	}
}

// notAnnouncing says why node does not announce an IP it is not seen
// announcing.
func notAnnouncing(snap *Snapshot, svc *corev1.Service, node string, exp *planner.Expected) string {
	if d, ok, _ := drill.Of(svc.Annotations); ok && d.Node == node && !snap.Now.IsZero() && d.Active(snap.Now) {
		return fmt.Sprintf("a drill gives the Service up on this node until %s (annotation %s, kubectl herald drill)",
			d.Expiry.UTC().Format(time.RFC3339), drill.Annotation)
	}
	var n *corev1.Node
	for i := range snap.Nodes {
		if snap.Nodes[i].Name == node {
			n = &snap.Nodes[i]
		}
	}
	if n != nil {
		if _, ok := n.Labels[planner.ExcludeLabel]; ok {
			return "the node is labelled " + planner.ExcludeLabel
		}
	}
	ns := snap.nodeState(node)
	if exp != nil {
		if peers, ok := exp.BGP[node]; ok {
			if ns == nil {
				return fmt.Sprintf("it should announce it to %s but has no NodeState: is the speaker running on it?", strings.Join(peers, ","))
			}
			if f := ns.Status.FRR; f != nil && f.Result != v1beta1.FRRApplied {
				return fmt.Sprintf("it should announce it to %s but its last FRR config was %s (generation %d): %s", strings.Join(peers, ","), f.Result, f.Generation, orDash(f.Message))
			}
			return fmt.Sprintf("it should announce it to %s but its NodeState does not list it yet", strings.Join(peers, ","))
		}
		if slices.Contains(exp.L2Nodes, node) {
			return "eligible for Layer 2 but another node was elected to answer for it"
		}
	}
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && !hasReadyEndpoint(snap.EndpointSlices, svc, node) {
		return "externalTrafficPolicy is Local and the node has no ready endpoint of the Service"
	}
	if exp != nil && exp.Reason != "" {
		return exp.Reason + ": " + exp.Message
	}
	return "no advertisement of its pool selects this node (nodeSelectors) with a peer of the node"
}

func hasReadyEndpoint(eps []discoveryv1.EndpointSlice, svc *corev1.Service, node string) bool {
	for _, s := range eps {
		if s.Namespace != svc.Namespace || s.Labels[discoveryv1.LabelServiceName] != svc.Name {
			continue
		}
		for _, e := range s.Endpoints {
			if e.NodeName != nil && *e.NodeName == node && (e.Conditions.Ready == nil || *e.Conditions.Ready) {
				return true
			}
		}
	}
	return false
}

// whyServed says why herald does not serve the Service, or "".
func whyServed(snap *Snapshot, svc *corev1.Service) string {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return "it is of type " + string(svc.Spec.Type) + ", not LoadBalancer"
	}
	class := ""
	if svc.Spec.LoadBalancerClass != nil {
		class = *svc.Spec.LoadBalancerClass
	}
	if class != snap.LBClass {
		if snap.LBClass == "" {
			return fmt.Sprintf("its spec.loadBalancerClass is %q and herald serves Services with none (or start herald with --lb-class)", class)
		}
		return fmt.Sprintf("its spec.loadBalancerClass is %q and herald serves %q", class, snap.LBClass)
	}
	return ""
}

// poolMismatch says why pool cannot give the Service an address, or "".
func poolMismatch(snap *Snapshot, svc *corev1.Service, req controllers.Request, pool *v1beta1.IPAddressPool) string {
	if len(req.IPs) > 0 {
		var in []string
		for _, ip := range req.IPs {
			if holds(pool, []netip.Addr{ip}) {
				in = append(in, ip.String())
			}
		}
		if len(in) == 0 {
			return "the requested IPs are not in it"
		}
		return ""
	}
	if req.Pool != "" {
		if req.Pool != pool.Name {
			return fmt.Sprintf("the Service asks for pool %q (address-pool annotation)", req.Pool)
		}
		return exhausted(pool)
	}
	if pool.Spec.AutoAssign != nil && !*pool.Spec.AutoAssign {
		return "autoAssign is false: only Services naming it (heraldlb.io/address-pool) or requesting one of its IPs get its addresses"
	}
	if sa := pool.Spec.ServiceAllocation; sa != nil {
		if len(sa.Namespaces) > 0 || len(sa.NamespaceSelectors) > 0 {
			ok := slices.Contains(sa.Namespaces, svc.Namespace)
			nsLabels := labels.Set{}
			for _, n := range snap.Namespaces {
				if n.Name == svc.Namespace {
					nsLabels = n.Labels
				}
			}
			for _, sel := range sa.NamespaceSelectors {
				if s, err := metav1.LabelSelectorAsSelector(&sel); err == nil && s.Matches(nsLabels) {
					ok = true
				}
			}
			if !ok {
				var parts []string
				if len(sa.Namespaces) > 0 {
					parts = append(parts, "is not in serviceAllocation.namespaces ["+strings.Join(sa.Namespaces, ",")+"]")
				}
				if len(sa.NamespaceSelectors) > 0 {
					parts = append(parts, "matches none of serviceAllocation.namespaceSelectors "+selectors(sa.NamespaceSelectors))
				}
				return fmt.Sprintf("namespace %q %s", svc.Namespace, strings.Join(parts, " and "))
			}
		}
		if len(sa.ServiceSelectors) > 0 {
			ok := false
			for _, sel := range sa.ServiceSelectors {
				if s, err := metav1.LabelSelectorAsSelector(&sel); err == nil && s.Matches(labels.Set(svc.Labels)) {
					ok = true
				}
			}
			if !ok {
				return "the Service's labels match none of serviceAllocation.serviceSelectors " + selectors(sa.ServiceSelectors)
			}
		}
	}
	return exhausted(pool)
}

// exhausted says the pool has no free address of any family it holds.
func exhausted(pool *v1beta1.IPAddressPool) string {
	st := pool.Status
	if st.Available == "0" || (st.AvailableIPv4 == "0" && st.AvailableIPv6 == "") || (st.AvailableIPv6 == "0" && st.AvailableIPv4 == "") ||
		(st.AvailableIPv4 == "0" && st.AvailableIPv6 == "0") {
		return "it is exhausted (no address available)"
	}
	return ""
}

func holds(pool *v1beta1.IPAddressPool, ips []netip.Addr) bool {
	for _, a := range pool.Spec.Addresses {
		r, err := ipam.ParseRange(string(a))
		if err != nil {
			continue
		}
		for _, ip := range ips {
			if r.Contains(ip) {
				return true
			}
		}
	}
	return false
}

func addrStrings(pool *v1beta1.IPAddressPool) []string {
	var out []string
	for _, a := range pool.Spec.Addresses {
		out = append(out, string(a))
	}
	return out
}

// advertises says whether an advertisement naming names and selecting with
// sels covers any of pools.
func advertises(snap *Snapshot, names []string, sels []metav1.LabelSelector, pools []string) bool {
	if len(names) == 0 && len(sels) == 0 {
		return len(pools) > 0
	}
	for _, p := range pools {
		if slices.Contains(names, p) {
			return true
		}
		for _, pool := range snap.Pools {
			if pool.Name != p {
				continue
			}
			for _, sel := range sels {
				if s, err := metav1.LabelSelectorAsSelector(&sel); err == nil && s.Matches(labels.Set(pool.Labels)) {
					return true
				}
			}
		}
	}
	return false
}

func selectors(sels []metav1.LabelSelector) string {
	if len(sels) == 0 {
		return "all"
	}
	var out []string
	for _, sel := range sels {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			out = append(out, "invalid selector: "+err.Error())
			continue
		}
		out = append(out, "{"+s.String()+"}")
	}
	return strings.Join(out, " or ")
}

func communities(cs []v1beta1.CommunityOrAlias) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c))
	}
	return out
}

func localPref(v uint32) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprint(v)
}

func notAccepted(p *printer, conds []metav1.Condition) {
	for _, c := range conds {
		if c.Status != metav1.ConditionTrue {
			p.f("    condition %s %s (%s): %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
}

func sortedByName[T any, PT interface {
	*T
	metav1.Object
}](in []T) []*T {
	out := make([]*T, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	sort.Slice(out, func(i, j int) bool { return PT(out[i]).GetName() < PT(out[j]).GetName() })
	return out
}

func eventTime(e *corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.Time{Time: e.EventTime.Time}
	default:
		return e.CreationTimestamp
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printer writes lines, keeping the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
}
