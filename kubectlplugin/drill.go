package kubectlplugin

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/internal/drill"
	"github.com/heraldlb/herald/speaker/planner"
)

// Drill modes: how the Service's IP reaches the network.
const (
	ModeL2  = "L2"
	ModeBGP = "BGP"
)

// ErrRefused is wrapped by PlanDrill's errors when the drill is refused
// (rather than impossible to plan because of an API or input error).
var ErrRefused = errors.New("drill refused")

// DrillPlan is what a drill of one Service does: which node gives which IP
// up, and who may take it over.
type DrillPlan struct {
	// Service is the Service, namespace/name.
	Service string
	// IP is the Service IP probed.
	IP netip.Addr
	// Mode is ModeL2 or ModeBGP: how IP is announced.
	Mode string
	// Node is the node giving the Service up.
	Node string
	// Announcing are the nodes the NodeStates show announcing IP now, in
	// Mode, sorted.
	Announcing []string
	// Eligible are the nodes that may announce IP in Mode (the planner,
	// drills aside), sorted; Others is Eligible without Node.
	Eligible, Others []string
	// Advertisements name the advertisements of IP's pool in Mode, with
	// the nodes they select.
	Advertisements []string
	// Port is the Service's first TCP port (0: none).
	Port int32
}

// PlanDrill decides the drill of the Service key (namespace/name) on node
// (empty: the node announcing it; for BGP the first of them by name), of
// the Service's IP ip (invalid: its first) in mode (empty: the mode it is
// announced in, L2 when both). It refuses, with an error wrapping
// ErrRefused that names the nodes and advertisements, a Service that only
// one node may announce, that nobody announces now, that a drill already
// holds, or a node that does not announce it.
func PlanDrill(snap *Snapshot, svcKey, node string, ip netip.Addr, mode string, now time.Time) (*DrillPlan, error) {
	var svc *corev1.Service
	for i := range snap.Services {
		if key(&snap.Services[i]) == svcKey {
			svc = &snap.Services[i]
		}
	}
	if svc == nil {
		return nil, fmt.Errorf("Service %s not found", svcKey)
	}
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: Service %s: %s", ErrRefused, svcKey, fmt.Sprintf(format, args...))
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return nil, refuse("type %s, not LoadBalancer: nothing is announced", svc.Spec.Type)
	}
	if d, ok, err := drill.Of(svc.Annotations); err != nil {
		return nil, refuse("%v: remove the annotation first", err)
	} else if ok && d.Active(now) {
		return nil, refuse("a drill of node %s holds it until %s (annotation %s): wait for it to end or remove the annotation",
			d.Node, d.Expiry.UTC().Format(time.RFC3339), drill.Annotation)
	}
	ips := serviceIPs(svc)
	if len(ips) == 0 {
		return nil, refuse("no IP in status.loadBalancer.ingress: see kubectl herald why %s", svcKey)
	}
	if !ip.IsValid() {
		ip = ips[0]
	} else if !slices.Contains(ips, ip) {
		return nil, fmt.Errorf("Service %s: --ip %s is not one of its IPs (%s)", svcKey, ip, addrs(ips))
	}
	for i := range snap.Services {
		o := &snap.Services[i]
		if o != svc && o.Spec.Type == corev1.ServiceTypeLoadBalancer && slices.Contains(serviceIPs(o), ip) {
			return nil, refuse("%s is shared with Service %s (allow-shared-ip): a node announces a shared IP while any Service holding it is not drilled, so a drill of one Service cannot move it",
				ip, key(o))
		}
	}
	ps := planner.Snapshot{Namespace: snap.Namespace, LBClass: snap.LBClass, Services: []corev1.Service{*svc},
		EndpointSlices: snap.EndpointSlices, Nodes: snap.Nodes, Secrets: snap.Secrets, Pools: snap.Pools, Peers: snap.Peers,
		BFDProfiles: snap.BFDProfiles, BGPAdvertisements: snap.BGPAdvertisements, L2Advertisements: snap.L2Advertisements,
		Communities: snap.Communities}
	var exp planner.Expected
	for _, e := range planner.Explain(&ps, svcKey) {
		if e.IP == ip {
			exp = e
		}
	}
	var bgpNodes []string
	for n := range exp.BGP {
		bgpNodes = append(bgpNodes, n)
	}
	sort.Strings(bgpNodes)
	if mode == "" {
		mode = ModeBGP
		if len(exp.L2Nodes) > 0 || len(bgpNodes) == 0 {
			mode = ModeL2
		}
	}
	p := &DrillPlan{Service: svcKey, IP: ip, Mode: mode, Port: tcpPort(svc)}
	routes, answers := snap.announcedBy(ip)
	switch mode {
	case ModeL2:
		p.Eligible = slices.Clone(exp.L2Nodes)
		for _, a := range answers {
			p.Announcing = append(p.Announcing, a.node)
		}
	case ModeBGP:
		p.Eligible = bgpNodes
		for _, r := range routes {
			p.Announcing = append(p.Announcing, r.node)
		}
	default:
		return nil, fmt.Errorf("--mode %q: want %s or %s", mode, ModeL2, ModeBGP)
	}
	p.Announcing = slices.Compact(sortedCopy(p.Announcing))
	p.Advertisements = drillAdvertisements(snap, ip, mode)
	if len(p.Eligible) == 0 {
		return nil, refuse("no node may announce %s in %s mode (%s): see kubectl herald why %s", ip, mode, exp.Message, svcKey)
	}
	if len(p.Eligible) == 1 {
		why, fix := "", "select more nodes in the advertisement"
		if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
			why = "; externalTrafficPolicy is Local, so only nodes with a ready endpoint may announce it"
			fix = "run endpoints on more nodes"
			if len(clusterEligible(&ps, ip, mode)) < 2 {
				fix = "select more nodes in the advertisement and run endpoints on them"
			}
		}
		return nil, refuse("%s has a single possible announcer in %s mode, node %s (%s%s): a drill would leave it unannounced; %s",
			ip, mode, p.Eligible[0], joinOr(p.Advertisements, "; ", "no advertisement"), why, fix)
	}
	switch {
	case node != "":
		if !slices.Contains(p.Eligible, node) {
			return nil, refuse("node %s may not announce %s in %s mode (the nodes that may: %s): nothing to give up", node, ip, mode, strings.Join(p.Eligible, ", "))
		}
		if !slices.Contains(p.Announcing, node) {
			return nil, refuse("node %s does not announce %s now (its NodeState; announcing: %s): nothing to give up", node, ip, joinOr(p.Announcing, ", ", "none"))
		}
	case len(p.Announcing) == 0:
		return nil, refuse("no NodeState shows %s announced in %s mode now: a drill measures the failover of an announced Service; see kubectl herald why %s", ip, mode, svcKey)
	default:
		node = p.Announcing[0]
	}
	p.Node = node
	for _, n := range p.Eligible {
		if n != node {
			p.Others = append(p.Others, n)
		}
	}
	return p, nil
}

// drillAdvertisements names the advertisements of ip's pool in mode with
// the nodes they select.
func drillAdvertisements(snap *Snapshot, ip netip.Addr, mode string) []string {
	var pools []string
	if p := snap.poolOf(ip); p != "" {
		pools = []string{p}
	}
	var out []string
	if mode == ModeBGP {
		for _, a := range sortedByName(snap.BGPAdvertisements) {
			if advertises(snap, a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, pools) {
				out = append(out, fmt.Sprintf("BGPAdvertisement %s selects nodes %s", a.Name, selectors(a.Spec.NodeSelectors)))
			}
		}
		return out
	}
	for _, a := range sortedByName(snap.L2Advertisements) {
		if advertises(snap, a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, pools) {
			out = append(out, fmt.Sprintf("L2Advertisement %s selects nodes %s", a.Name, selectors(a.Spec.NodeSelectors)))
		}
	}
	return out
}

// tcpPort is the Service's first TCP port, or 0.
func tcpPort(svc *corev1.Service) int32 {
	for _, p := range svc.Spec.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			return p.Port
		}
	}
	return 0
}

func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return out
}

// clusterEligible lists the nodes that could announce ip in mode if the
// Service (the only one in ps) had externalTrafficPolicy Cluster.
func clusterEligible(ps *planner.Snapshot, ip netip.Addr, mode string) []string {
	c := *ps
	c.Services = []corev1.Service{*ps.Services[0].DeepCopy()}
	c.Services[0].Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	for _, e := range planner.Explain(&c, key(&c.Services[0])) {
		if e.IP != ip {
			continue
		}
		if mode == ModeL2 {
			return e.L2Nodes
		}
		var out []string
		for n := range e.BGP {
			out = append(out, n)
		}
		return out
	}
	return nil
}
