package planner

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/verdict"
)

// world is a Snapshot resolved once, node-independently.
type world struct {
	snap     *Snapshot
	pools    map[string]*pool
	poolList []*pool
	peers    []Peer                    // usable peers, sorted by name
	advs     []Advertisement           // usable advertisements, sorted by name
	l2s      []v1beta1.L2Advertisement // usable L2 advertisements, sorted by name
	ready    map[string]map[string]bool
	nodes    map[string]*corev1.Node
	drills   map[string]Drilled // drill.go
	probs    problems
	lastGood LastGood
	// undrain names a node planned as if it did not drain (Plan's second
	// pass for Result.Undrained).
	undrain string
	// orders are each neighbor's (VRF|key) sorted prefixes in the last
	// plan of a Planner, nil without one; plan puts this plan's in
	// newOrders when it is not nil.
	orders, newOrders map[string][]netip.Prefix
}

// keepEffect is the Effect of a problem on an object that keeps its last
// good version.
const (
	keepEffect  = "keeping its last good version until this is fixed"
	leaveEffect = "left out until this is fixed"
	// statusEffect is leaveEffect as Validate reports it: the controller
	// holds no last good versions, the speakers do.
	statusEffect = "speakers keep its last good version until this is fixed (a version that was never good is left out)"
)

func prepare(snap *Snapshot) *world {
	w := &world{
		snap:   snap,
		ready:  readyNodes(snap.EndpointSlices),
		nodes:  map[string]*corev1.Node{},
		drills: drills(snap),
		lastGood: LastGood{Peers: map[string]Peer{}, Advertisements: map[string]Advertisement{},
			L2Advertisements: map[string]v1beta1.L2Advertisement{}, Pools: map[string]v1beta1.IPAddressPool{}},
	}
	w.pools, w.poolList = decidePools(snap, w.lastGood.Pools)
	for i := range snap.Nodes {
		w.nodes[snap.Nodes[i].Name] = &snap.Nodes[i]
	}
	profiles := map[string]*v1beta1.BFDProfile{}
	for i := range snap.BFDProfiles {
		p := &snap.BFDProfiles[i]
		if ps := validateBFDProfile(p); len(ps) > 0 {
			for _, pr := range ps {
				pr.Effect = "peers using it are " + leaveEffect + " or keep their last good version"
				w.probs.add(pr)
			}
			continue
		}
		profiles[p.Name] = p
	}
	secrets := map[string]*corev1.Secret{}
	for i := range snap.Secrets {
		s := &snap.Secrets[i]
		secrets[s.Namespace+"/"+s.Name] = s
	}
	serviceIPs := servicesAt(snap, peerAddresses(snap))
	// Peers oldest first: on a node, the peer already in effect keeps its
	// session and its myASN against a newcomer (plan reports the later).
	peers := slices.Clone(snap.Peers)
	verdict.ByAge(peers)
	for i := range peers {
		r, probs := resolvePeer(&peers[i], snap.Namespace, profiles, secrets)
		if err := selectorsError("spec.nodeSelectors", peers[i].Spec.NodeSelectors); err != nil {
			probs = append(probs, selectorProblem(KindBGPPeer, r.Name, "spec.nodeSelectors", err))
		}
		if len(probs) == 0 {
			if pr := w.peerAddressConflict(&r, serviceIPs); pr != nil {
				// Never established, last good version or not: its
				// address is announced by this very cluster.
				pr.Effect = "not established until this is fixed"
				w.probs.add(*pr)
				continue
			}
			w.peers = append(w.peers, r)
			w.lastGood.Peers[r.Name] = r
			continue
		}
		last, ok := snap.LastGood.Peers[r.Name]
		if ok && w.peerAddressConflict(&last, serviceIPs) != nil {
			ok = false
		}
		for _, p := range probs {
			p.Effect = leaveEffect
			if ok {
				p.Effect = keepEffect
			}
			w.probs.add(p)
		}
		if ok {
			w.peers = append(w.peers, last)
			w.lastGood.Peers[r.Name] = last
		}
	}
	aliases := communityAliases(snap.Communities, &w.probs)
	advs := slices.Clone(snap.BGPAdvertisements)
	sort.Slice(advs, func(i, j int) bool { return advs[i].Name < advs[j].Name })
	peerNames := map[string]bool{}
	for _, p := range snap.Peers {
		peerNames[p.Name] = true
	}
	for i := range advs {
		a := &advs[i]
		w.missingRefs(KindBGPAdvertisement, a.Name, a.Spec.IPAddressPools)
		for j, p := range a.Spec.Peers {
			if !peerNames[p] {
				w.probs.add(Problem{Kind: KindBGPAdvertisement, Name: a.Name, Field: fmt.Sprintf("spec.peers[%d]", j),
					Reason: ReasonUnknownPeer, Message: fmt.Sprintf("BGPPeer %q does not exist in namespace %s: create it or fix the name", p, snap.Namespace),
					Effect: "the other peers are announced to"})
			}
		}
		r, probs := resolveAdvertisement(a, aliases, w.pools)
		for _, f := range []struct {
			field string
			sels  []metav1.LabelSelector
		}{{"spec.nodeSelectors", a.Spec.NodeSelectors}, {"spec.ipAddressPoolSelectors", a.Spec.IPAddressPoolSelectors}} {
			if err := selectorsError(f.field, f.sels); err != nil {
				probs = append(probs, selectorProblem(KindBGPAdvertisement, a.Name, f.field, err))
			}
		}
		if len(probs) == 0 {
			w.advs = append(w.advs, r)
			w.lastGood.Advertisements[r.Name] = r
			continue
		}
		last, ok := snap.LastGood.Advertisements[r.Name]
		for _, p := range probs {
			p.Effect = leaveEffect
			if ok {
				p.Effect = keepEffect
			}
			w.probs.add(p)
		}
		if ok {
			w.advs = append(w.advs, last)
			w.lastGood.Advertisements[r.Name] = last
		}
	}
	l2s := slices.Clone(snap.L2Advertisements)
	sort.Slice(l2s, func(i, j int) bool { return l2s[i].Name < l2s[j].Name })
	for i := range l2s {
		a := &l2s[i]
		w.missingRefs(KindL2Advertisement, a.Name, a.Spec.IPAddressPools)
		var probs []Problem
		for _, f := range []struct {
			field string
			sels  []metav1.LabelSelector
		}{{"spec.nodeSelectors", a.Spec.NodeSelectors}, {"spec.ipAddressPoolSelectors", a.Spec.IPAddressPoolSelectors}} {
			if err := selectorsError(f.field, f.sels); err != nil {
				probs = append(probs, selectorProblem(KindL2Advertisement, a.Name, f.field, err))
			}
		}
		if len(probs) == 0 {
			w.l2s = append(w.l2s, *a)
			w.lastGood.L2Advertisements[a.Name] = *a
			continue
		}
		last, ok := snap.LastGood.L2Advertisements[a.Name]
		for _, p := range probs {
			p.Effect = leaveEffect
			if ok {
				p.Effect = keepEffect
			}
			w.probs.add(p)
		}
		if ok {
			w.l2s = append(w.l2s, last)
			w.lastGood.L2Advertisements[a.Name] = last
		}
	}
	return w
}

// missingRefs reports pools named by an advertisement that do not exist.
func (w *world) missingRefs(kind, name string, pools []string) {
	for j, p := range pools {
		if _, ok := w.pools[p]; !ok {
			w.probs.add(Problem{Kind: kind, Name: name, Field: fmt.Sprintf("spec.ipAddressPools[%d]", j),
				Reason: ReasonUnknownPool, Message: fmt.Sprintf("IPAddressPool %q does not exist in namespace %s: create it or fix the name", p, w.snap.Namespace),
				Effect: "the other pools are announced"})
		}
	}
}

// Plan returns what node announces given snap. It never fails: mistakes are
// Problems, and what they touch is left out or kept at its last good version.
//
// A node that drains (DrainReason, or Snapshot.Stopping) is planned as
// drained: its Config announces nothing, in graceful shutdown, and
// Result.Drain says why; Result.Undrained is what it announced before, for
// the speaker's graceful-shutdown step (see DrainConfig).
func Plan(snap *Snapshot, node string) Result {
	return plan(prepare(snap), node)
}

// Planner plans one node again and again: each plan is Plan's, and takes
// from the last one the order of each neighbor's prefixes, so that a
// change of a few Services sorts only their prefixes. The zero value is
// ready; a Planner is not safe for concurrent use.
type Planner struct {
	orders map[string][]netip.Prefix
}

// Plan returns Plan(snap, node).
func (p *Planner) Plan(snap *Snapshot, node string) Result {
	w := prepare(snap)
	w.orders, w.newOrders = p.orders, map[string][]netip.Prefix{}
	res := plan(w, node)
	p.orders = w.newOrders
	return res
}

func plan(w *world, node string) Result {
	snap := w.snap
	res := w.plan(node)
	why := ""
	if n := w.nodes[node]; n != nil {
		if ok, reason, drain := w.nodeAnnounces(n); !ok && drain {
			why = reason
		}
	}
	if why == "" && snap.Stopping {
		why = ReasonStopping
	}
	if why == "" {
		return res
	}
	w.undrain = node
	undrained := w.plan(node).Config
	w.undrain = ""
	res.Drain = why
	res.Undrained = &undrained
	res.Config = frrconfig.Withdrawn(&undrained)
	for i := range res.Config.Routers {
		res.Config.Routers[i].GracefulShutdown = true
	}
	for i := range res.Neighbors {
		res.Neighbors[i].Prefixes = nil
	}
	return res
}

// Validate returns the cross-object problems of snap, for every node in it
// (some, like conflicting local preferences, show only on the nodes where
// both advertisements meet). The controller writes them to the objects'
// status; the speakers apply the same rules.
func Validate(snap *Snapshot) []Problem {
	w := prepare(snap)
	all := problems{}
	add := func(p Problem) {
		if p.Effect == leaveEffect {
			p.Effect = statusEffect
		}
		all.add(p)
	}
	for _, p := range w.probs.list {
		add(p)
	}
	for i := range snap.Nodes {
		for _, p := range w.plan(snap.Nodes[i].Name).Problems {
			add(p)
		}
	}
	return all.sorted()
}

func (w *world) plan(node string) Result {
	probs := problems{}
	for _, p := range w.probs.list {
		probs.add(p)
	}
	var cfg frrconfig.Config
	nodeObj := w.nodes[node]
	var nodeLabels map[string]string
	if nodeObj != nil {
		nodeLabels = nodeObj.Labels
	}

	// Peers this node opens, one router per VRF.
	var neighbors []*neighborState
	vrfRouter := map[string]int{}
	vrfASNFrom := map[string]string{}
	keys := map[string]string{}
	profiles := map[string]frrconfig.BFDProfile{}
	for _, p := range w.peers {
		ok, err := selects(p.Spec.NodeSelectors, nodeLabels)
		if err != nil {
			probs.add(Problem{Kind: KindBGPPeer, Name: p.Name, Field: "spec.nodeSelectors", Reason: ReasonInvalidNodeSelector,
				Message: err.Error() + ": fix the selector", Effect: "not matching the nodes it cannot parse for"})
		}
		if !ok {
			continue
		}
		ri, have := vrfRouter[p.Spec.VRF]
		if have && cfg.Routers[ri].ASN != p.Spec.MyASN {
			probs.add(Problem{Kind: KindBGPPeer, Name: p.Name, Field: "spec.myASN", Reason: ReasonASNConflict,
				Message: fmt.Sprintf("myASN %d differs from myASN %d of BGPPeer %s, which node %s also peers with in the same VRF %q: a node speaks one ASN per VRF; use the same myASN",
					p.Spec.MyASN, cfg.Routers[ri].ASN, vrfASNFrom[p.Spec.VRF], node, p.Spec.VRF),
				Effect: "not opened on node " + node})
			continue
		}
		// The oldest peer of a router (w.peers is oldest first) decides its
		// router ID, "none" (FRR picks one) included: a newer peer that
		// gives another would change the ID of the BGP instance every
		// session of the node runs in, and so reset them all. It is not
		// opened, as a peer with another myASN is not: its session would
		// not run with the router ID it asks for.
		rid, _ := netip.ParseAddr(p.Spec.RouterID) // CEL checked it; invalid means none
		if !have {
			ri = len(cfg.Routers)
			vrfRouter[p.Spec.VRF] = ri
			vrfASNFrom[p.Spec.VRF] = p.Name
			cfg.Routers = append(cfg.Routers, frrconfig.Router{ASN: p.Spec.MyASN, VRF: p.Spec.VRF, RouterID: rid})
		} else if cfg.Routers[ri].RouterID != rid {
			probs.add(Problem{Kind: KindBGPPeer, Name: p.Name, Field: "spec.routerID", Reason: ReasonRouterIDConflict,
				Message: fmt.Sprintf("routerID %s differs from %s of BGPPeer %s, the oldest BGPPeer of node %s in VRF %q: a node has one router ID per VRF, and changing it resets every session; give both the same routerID (or neither)",
					routerIDText(rid), routerIDText(cfg.Routers[ri].RouterID), vrfASNFrom[p.Spec.VRF], node, p.Spec.VRF),
				Effect: "not opened on node " + node})
			continue
		}
		k := p.Spec.VRF + "|" + neighborKey(&p.Neighbor)
		if other, dup := keys[k]; dup {
			probs.add(Problem{Kind: KindBGPPeer, Name: p.Name, Field: "spec.peerAddress", Reason: ReasonDuplicatePeerNeighbor,
				Message: fmt.Sprintf("node %s already peers with %s in VRF %q through BGPPeer %s: select each node with one BGPPeer per neighbor",
					node, neighborKey(&p.Neighbor), p.Spec.VRF, other),
				Effect: "not opened on node " + node})
			continue
		}
		keys[k] = p.Name
		if p.BFDProfile != nil {
			profiles[p.BFDProfile.Name] = *p.BFDProfile
		}
		neighbors = append(neighbors, &neighborState{peer: p, key: neighborKey(&p.Neighbor), router: ri})
	}

	announces, _, _ := w.nodeAnnounces(nodeObj)
	// Pointers into the snapshot, sorted: no copy of every Service.
	services := make([]*corev1.Service, len(w.snap.Services))
	for i := range w.snap.Services {
		services[i] = &w.snap.Services[i]
	}
	slices.SortFunc(services, func(a, b *corev1.Service) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	advNode := make([]bool, len(w.advs))
	if len(neighbors) > 0 {
		for i := range w.advs {
			ok, err := selects(w.advs[i].Spec.NodeSelectors, nodeLabels)
			if err != nil {
				probs.add(Problem{Kind: KindBGPAdvertisement, Name: w.advs[i].Name, Field: "spec.nodeSelectors", Reason: ReasonInvalidNodeSelector,
					Message: err.Error() + ": fix the selector", Effect: "not matching the nodes it cannot parse for"})
			}
			advNode[i] = ok
		}
		w.setFamilies(neighbors, advNode)
		// Room for every Service IP: a node's neighbors mostly get them all.
		ips := 0
		for _, svc := range services {
			ips += len(svc.Status.LoadBalancer.Ingress)
		}
		for _, n := range neighbors {
			n.index = make(map[netip.Prefix]int32, ips)
			n.adv = make([]attrs, 0, ips)
		}
	}
	// health: the Services this node's health check gates → withheld.
	health := map[string]bool{}
	if announces && len(neighbors) > 0 {
		for _, svc := range services {
			if !served(svc, w.snap.LBClass) {
				continue
			}
			key := svc.Namespace + "/" + svc.Name
			if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && !w.ready[key][node] {
				continue
			}
			if w.drilledOn(key, node) {
				continue
			}
			for _, ip := range ServiceIPs(svc) {
				p := poolOf(w.poolList, ip)
				if p == nil {
					continue
				}
				if withheld, gated := w.healthWithheld(svc, key, p, node); gated {
					health[key] = health[key] || withheld
					if withheld {
						continue
					}
				}
				for ai := range w.advs {
					a := &w.advs[ai]
					if !advNode[ai] || !a.selectsPool(p) {
						continue
					}
					agg := a.AggregationLength
					if ip.Is6() {
						agg = a.AggregationLengthV6
					}
					prefix := netip.PrefixFrom(ip, agg).Masked()
					for _, n := range neighbors {
						if len(a.Spec.Peers) > 0 && !slices.Contains(a.Spec.Peers, n.peer.Name) {
							continue
						}
						n.add(prefix, a, &probs, node)
					}
				}
			}
		}
	}

	// Assemble the model.
	res := Result{LastGood: w.lastGood}
	// Each router's networks: every neighbor's prefixes, sorted and
	// compacted below.
	v4 := make([][][]netip.Prefix, len(cfg.Routers)) // each neighbor's sorted prefixes
	for _, n := range neighbors {
		nb := n.peer.Neighbor
		order := n.sorted(w.orders[n.peer.Spec.VRF+"|"+n.key])
		nb.Advertise = make([]frrconfig.Advertisement, len(order))
		prefixes := make([]netip.Prefix, len(order))
		for i, o := range order {
			at := &n.adv[o]
			ad := &nb.Advertise[i]
			ad.Prefix, ad.Communities, ad.LargeCommunities = at.prefix, at.comms, at.large
			if n.peer.IBGP && at.localPref != nil {
				lp := *at.localPref
				ad.LocalPref = &lp
			}
			prefixes[i] = at.prefix
		}
		if len(order) == 0 {
			nb.Advertise, prefixes = nil, nil
		} else if w.newOrders != nil {
			w.newOrders[n.peer.Spec.VRF+"|"+n.key] = prefixes
		}
		v4[n.router] = append(v4[n.router], prefixes)
		cfg.Routers[n.router].Neighbors = append(cfg.Routers[n.router].Neighbors, nb)
		res.Neighbors = append(res.Neighbors, NeighborPlan{Peer: n.peer.Name, Key: n.key, VRF: n.peer.Spec.VRF, Prefixes: prefixes})
	}
	for i := range cfg.Routers {
		cfg.Routers[i].IPv4Networks, cfg.Routers[i].IPv6Networks = mergePrefixes(v4[i])
		slices.SortFunc(cfg.Routers[i].Neighbors, func(a, b frrconfig.Neighbor) int {
			return strings.Compare(neighborKey(&a), neighborKey(&b))
		})
	}
	sort.Slice(cfg.Routers, func(i, j int) bool { return cfg.Routers[i].VRF < cfg.Routers[j].VRF })
	for _, p := range profiles {
		cfg.BFDProfiles = append(cfg.BFDProfiles, p)
	}
	sort.Slice(cfg.BFDProfiles, func(i, j int) bool { return cfg.BFDProfiles[i].Name < cfg.BFDProfiles[j].Name })
	sort.Slice(res.Neighbors, func(i, j int) bool {
		if res.Neighbors[i].VRF != res.Neighbors[j].VRF {
			return res.Neighbors[i].VRF < res.Neighbors[j].VRF
		}
		return res.Neighbors[i].Key < res.Neighbors[j].Key
	})
	res.Config = cfg
	res.L2 = w.planL2(node, services, &probs, health)
	if len(health) > 0 {
		res.Health = healthResult(health)
	}
	res.Drills, res.DrillsChange = w.drillResult(node)
	res.Problems = probs.sorted()
	return res
}

// planL2 lists the Layer 2 IPs, the nodes eligible for each and this node's
// interfaces for it.
func (w *world) planL2(node string, services []*corev1.Service, probs *problems, health map[string]bool) []L2Service {
	if len(w.l2s) == 0 {
		return nil
	}
	l2s := w.l2s
	// Which nodes each L2Advertisement selects.
	nodeNames := make([]string, 0, len(w.nodes))
	for n := range w.nodes {
		nodeNames = append(nodeNames, n)
	}
	sort.Strings(nodeNames)
	advNodes := make([]map[string]bool, len(l2s))
	for i := range l2s {
		advNodes[i] = map[string]bool{}
		for _, n := range nodeNames {
			nd := w.nodes[n]
			if ok, _, _ := w.nodeAnnounces(nd); !ok {
				continue
			}
			ok, err := selects(l2s[i].Spec.NodeSelectors, nd.Labels)
			if err != nil {
				probs.add(Problem{Kind: KindL2Advertisement, Name: l2s[i].Name, Field: "spec.nodeSelectors", Reason: ReasonInvalidNodeSelector,
					Message: err.Error() + ": fix the selector", Effect: "not matching the nodes it cannot parse for"})
			}
			if ok {
				advNodes[i][n] = true
			}
		}
	}
	byIP := map[netip.Addr]*L2Service{}
	for _, svc := range services {
		if !served(svc, w.snap.LBClass) {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
		for _, ip := range ServiceIPs(svc) {
			p := poolOf(w.poolList, ip)
			if p == nil {
				continue
			}
			nodes := map[string]bool{}
			var ifaces map[string]bool
			matched, allIfaces := false, false
			for i := range l2s {
				a := &l2s[i]
				if !advSelectsPool(a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, p) {
					continue
				}
				matched = true
				for n := range advNodes[i] {
					if (local && !w.ready[key][n]) || w.drilledOn(key, n) {
						continue
					}
					nodes[n] = true
				}
				if advNodes[i][node] {
					if len(a.Spec.Interfaces) == 0 {
						allIfaces = true
					}
					for _, ifc := range a.Spec.Interfaces {
						if ifaces == nil {
							ifaces = map[string]bool{}
						}
						ifaces[string(ifc)] = true
					}
				}
			}
			if !matched {
				continue
			}
			// Every node filters the same way: the eligible nodes of
			// an IP are the same on all of them.
			kept := healthyL2(w.snap.HealthGates, key, nodes)
			if nodes[node] && w.snap.HealthGates.Gated(key, node) {
				health[key] = health[key] || !kept[node]
			}
			nodes = kept
			s := byIP[ip]
			if s == nil {
				s = &L2Service{IP: ip}
				byIP[ip] = s
			}
			s.Services = append(s.Services, key)
			for n := range nodes {
				if !slices.Contains(s.Nodes, n) {
					s.Nodes = append(s.Nodes, n)
				}
			}
			if !allIfaces {
				for ifc := range ifaces {
					if !slices.Contains(s.Interfaces, ifc) {
						s.Interfaces = append(s.Interfaces, ifc)
					}
				}
			}
		}
	}
	out := make([]L2Service, 0, len(byIP))
	for _, s := range byIP {
		sort.Strings(s.Nodes)
		sort.Strings(s.Interfaces)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}

// Describe is a one-line summary of a Result, for logs.
func (r *Result) Describe() string {
	var parts []string
	for _, n := range r.Neighbors {
		parts = append(parts, fmt.Sprintf("%s(%s)=%d", n.Peer, n.Key, len(n.Prefixes)))
	}
	return strings.Join(parts, " ")
}
