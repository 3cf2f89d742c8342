package impact

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/speaker/l2/owner"
	"github.com/heraldlb/herald/speaker/planner"
)

// Report is what a change would do.
type Report struct {
	// Nodes are the nodes whose frr.conf or BGP prefixes change, by name.
	Nodes []NodeChange `json:"nodes,omitempty"`
	// L2Moves are the Layer 2 IPs whose answering node changes, by IP.
	L2Moves []L2Move `json:"l2Moves,omitempty"`
	// Allocations are the Services whose IPs the controller would change,
	// or that would hold none, by Service.
	Allocations []Allocation `json:"allocations,omitempty"`
	// Services are the Services affected (namespace/name), sorted, with
	// what happens to each.
	Services []ServiceImpact `json:"services,omitempty"`
	// NewProblems are the planner's cross-object problems found after the
	// change and not before.
	NewProblems []string `json:"newProblems,omitempty"`
	// Unconverged are the allocations the controller would make even
	// without the change (the cluster has not settled): both sides of the
	// comparison include them, so they are not the change's doing.
	Unconverged []Allocation `json:"unconverged,omitempty"`
}

// NodeChange is what changes on one node.
type NodeChange struct {
	// Node is the node's name.
	Node string `json:"node"`
	// ConfigDiff is a unified diff of the node's rendered frr.conf, before
	// and after, passwords redacted; empty when the file does not change.
	ConfigDiff string `json:"configDiff,omitempty"`
	// RenderError is set when a config cannot be rendered.
	RenderError string `json:"renderError,omitempty"`
	// After is the frr.conf the node would run after the change, passwords
	// redacted.
	After string `json:"-"`
	// Peers are the neighbors whose prefixes change.
	Peers []PeerChange `json:"peers,omitempty"`
}

// PeerChange is the prefixes one node would add and withdraw towards one
// neighbor.
type PeerChange struct {
	// Peer is the BGPPeer's name, Neighbor its address or interface, VRF
	// its VRF ("" for the default).
	Peer     string `json:"peer"`
	Neighbor string `json:"neighbor"`
	VRF      string `json:"vrf,omitempty"`
	// Added and Withdrawn are sorted.
	Added     []netip.Prefix `json:"added,omitempty"`
	Withdrawn []netip.Prefix `json:"withdrawn,omitempty"`
}

// L2Move is one Layer 2 IP whose answering node changes ("" for none).
type L2Move struct {
	IP       netip.Addr `json:"ip"`
	From     string     `json:"from"`
	To       string     `json:"to"`
	Services []string   `json:"services"`
}

// ServiceImpact is what happens to one Service.
type ServiceImpact struct {
	// Service is namespace/name.
	Service string `json:"service"`
	// What lists the effects, e.g. "192.0.2.1/32 withdrawn from router
	// (198.51.100.1) by node1".
	What []string `json:"what"`
}

// Changed reports whether the change would change anything herald does.
func (r *Report) Changed() bool {
	return len(r.Nodes) > 0 || len(r.L2Moves) > 0 || len(r.Allocations) > 0 || len(r.NewProblems) > 0
}

// Withdrawn returns every prefix withdrawn from some peer, sorted, with
// no duplicates.
func (r *Report) Withdrawn() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range r.Nodes {
		for _, p := range n.Peers {
			out = append(out, p.Withdrawn...)
		}
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out)
}

// ServiceNames returns the affected Services' names.
func (r *Report) ServiceNames() []string {
	var out []string
	for _, s := range r.Services {
		out = append(out, s.Service)
	}
	return out
}

// passwordLine matches a neighbor password line of frr.conf.
var passwordLine = regexp.MustCompile(`(?m)^(\s*neighbor \S+ password ).*$`)

// Redact replaces the passwords of a rendered frr.conf with <redacted>.
func Redact(conf string) string {
	if !strings.Contains(conf, " password ") {
		return conf // most configs: no regexp over thousands of lines
	}
	return passwordLine.ReplaceAllString(conf, "${1}<redacted>")
}

// Compute says what changes from before to after. The Services of both are
// first given the IPs the controller would give them (Predict, with
// nsLabels), so that an allocation the controller has yet to make now is
// not taken for the change's (it is listed in Unconverged). Every node
// named in before or after (Nodes) is planned on both, the after plan
// with the before plan's last good objects, as the speaker plans: an
// object the change breaks keeps its last good version. "Before" is what
// the objects in the API make the speakers run once settled; kubectl
// herald diff NODE compares that with what a node reports.
func Compute(before, after *planner.Snapshot, nsLabels map[string]map[string]string) *Report {
	before2, after2 := *before, *after
	r := &Report{Unconverged: Predict(&before2, nsLabels)}
	reasons := map[string]string{}
	for _, a := range Predict(&after2, nsLabels) {
		reasons[a.Service] = a.Reason
	}
	before = &before2
	// The change's allocations: the Services whose IPs differ between the
	// two settled states.
	settled := map[string][]netip.Addr{}
	for i := range before.Services {
		svc := &before.Services[i]
		settled[svc.Namespace+"/"+svc.Name] = planner.ServiceIPs(svc)
	}
	for i := range after2.Services {
		svc := &after2.Services[i]
		if !controllers.Serves(svc, after2.LBClass) {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		ips := planner.ServiceIPs(svc)
		b, ok := settled[key]
		if ok && sameAddrs(b, ips) {
			continue
		}
		reason := reasons[key]
		if reason == "" && len(ips) == 0 {
			reason = "no IP"
		}
		r.Allocations = append(r.Allocations, Allocation{Service: key, Before: b, After: ips, Reason: reason})
	}
	sort.Slice(r.Allocations, func(i, j int) bool { return r.Allocations[i].Service < r.Allocations[j].Service })
	var nodes []string
	for _, s := range []*planner.Snapshot{before, &after2} {
		for _, n := range s.Nodes {
			nodes = append(nodes, n.Name)
		}
	}
	sort.Strings(nodes)
	nodes = slices.Compact(nodes)

	svcIPs := map[netip.Addr][]string{}
	for _, s := range []*planner.Snapshot{before, &after2} {
		for i := range s.Services {
			for _, ip := range planner.ServiceIPs(&s.Services[i]) {
				svcIPs[ip] = append(svcIPs[ip], s.Services[i].Namespace+"/"+s.Services[i].Name)
			}
		}
	}
	effects := map[string][]string{}
	note := func(svc, what string) { effects[svc] = append(effects[svc], what) }
	for _, a := range r.Allocations {
		switch {
		case len(a.After) == 0 && len(a.Before) > 0:
			note(a.Service, fmt.Sprintf("loses %s: %s", joinAddrs(a.Before), a.Reason))
		case len(a.After) == 0:
			note(a.Service, "gets no IP: "+a.Reason)
		case len(a.Before) == 0:
			note(a.Service, fmt.Sprintf("gets %s (%s)", joinAddrs(a.After), a.Reason))
		default:
			note(a.Service, fmt.Sprintf("IP %s → %s (%s)", joinAddrs(a.Before), joinAddrs(a.After), a.Reason))
		}
	}
	servicesOf := func(p netip.Prefix) []string {
		var out []string
		for ip, svcs := range svcIPs {
			if p.Contains(ip) {
				out = append(out, svcs...)
			}
		}
		sort.Strings(out)
		return slices.Compact(out)
	}

	probsBefore, probsAfter := map[string]bool{}, map[string]bool{}
	l2Before, l2After := map[netip.Addr]planner.L2Service{}, map[netip.Addr]planner.L2Service{}
	for _, node := range nodes {
		// As a speaker does: the after plan starts from the before plan's
		// last good objects, so an object the change breaks keeps
		// announcing what it did.
		rb := planner.Plan(before, node)
		an := after2
		an.LastGood = rb.LastGood
		ra := planner.Plan(&an, node)
		for _, p := range rb.Problems {
			probsBefore[p.String()] = true
		}
		for _, p := range ra.Problems {
			probsAfter[p.String()] = true
		}
		for _, l := range rb.L2 {
			l2Before[l.IP] = l
		}
		for _, l := range ra.L2 {
			l2After[l.IP] = l
		}
		nc := NodeChange{Node: node}
		tb, errb := frrconfig.Render(&rb.Config)
		ta, erra := frrconfig.Render(&ra.Config)
		switch {
		case errb != nil || erra != nil:
			nc.RenderError = fmt.Sprintf("before: %v; after: %v", errb, erra)
		case string(tb) != string(ta):
			nc.ConfigDiff = unified(Redact(string(tb)), Redact(string(ta)), node)
		}
		nc.After = Redact(string(ta))
		nc.Peers = peerChanges(rb.Neighbors, ra.Neighbors)
		for _, pc := range nc.Peers {
			for _, p := range pc.Added {
				for _, s := range servicesOf(p) {
					note(s, fmt.Sprintf("%s announced to %s by %s", p, peerName(pc), node))
				}
			}
			for _, p := range pc.Withdrawn {
				for _, s := range servicesOf(p) {
					note(s, fmt.Sprintf("%s withdrawn from %s by %s", p, peerName(pc), node))
				}
			}
		}
		if nc.ConfigDiff != "" || nc.RenderError != "" || len(nc.Peers) > 0 {
			r.Nodes = append(r.Nodes, nc)
		}
	}
	for p := range probsAfter {
		if !probsBefore[p] {
			r.NewProblems = append(r.NewProblems, p)
		}
	}
	sort.Strings(r.NewProblems)

	var ips []netip.Addr
	for ip := range l2Before {
		ips = append(ips, ip)
	}
	for ip := range l2After {
		if _, ok := l2Before[ip]; !ok {
			ips = append(ips, ip)
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	for _, ip := range ips {
		b, a := l2Before[ip], l2After[ip]
		from, to := owner.Owner(ip, b.Nodes), owner.Owner(ip, a.Nodes)
		if from == to {
			continue
		}
		svcs := slices.Clone(a.Services)
		if len(svcs) == 0 {
			svcs = slices.Clone(b.Services)
		}
		r.L2Moves = append(r.L2Moves, L2Move{IP: ip, From: from, To: to, Services: svcs})
		for _, s := range svcs {
			note(s, fmt.Sprintf("L2 %s answered by %s instead of %s", ip, orNone(to), orNone(from)))
		}
	}
	var keys []string
	for k := range effects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.Services = append(r.Services, ServiceImpact{Service: k, What: effects[k]})
	}
	return r
}

func orNone(s string) string {
	if s == "" {
		return "no node"
	}
	return s
}

func peerName(p PeerChange) string {
	s := p.Peer + " (" + p.Neighbor
	if p.VRF != "" {
		s += " vrf " + p.VRF
	}
	return s + ")"
}

// peerChanges compares two nodes' neighbor plans.
func peerChanges(before, after []planner.NeighborPlan) []PeerChange {
	type k struct{ vrf, key string }
	idx := map[k]*PeerChange{}
	var order []k
	get := func(n planner.NeighborPlan) *PeerChange {
		kk := k{n.VRF, n.Key}
		if pc, ok := idx[kk]; ok {
			return pc
		}
		pc := &PeerChange{Peer: n.Peer, Neighbor: n.Key, VRF: n.VRF}
		idx[kk] = pc
		order = append(order, kk)
		return pc
	}
	b := map[k][]netip.Prefix{}
	for _, n := range before {
		get(n)
		b[k{n.VRF, n.Key}] = n.Prefixes
	}
	a := map[k][]netip.Prefix{}
	for _, n := range after {
		get(n).Peer = n.Peer
		a[k{n.VRF, n.Key}] = n.Prefixes
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].vrf != order[j].vrf {
			return order[i].vrf < order[j].vrf
		}
		return order[i].key < order[j].key
	})
	var out []PeerChange
	for _, kk := range order {
		pc := idx[kk]
		for _, p := range a[kk] {
			if !slices.Contains(b[kk], p) {
				pc.Added = append(pc.Added, p)
			}
		}
		for _, p := range b[kk] {
			if !slices.Contains(a[kk], p) {
				pc.Withdrawn = append(pc.Withdrawn, p)
			}
		}
		if len(pc.Added)+len(pc.Withdrawn) > 0 {
			slices.SortFunc(pc.Added, comparePrefix)
			slices.SortFunc(pc.Withdrawn, comparePrefix)
			out = append(out, *pc)
		}
	}
	return out
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// unified is a unified diff of two frr.conf texts with 3 lines of context.
func unified(a, b, node string) string {
	d := difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: node + "/frr.conf (now)", ToFile: node + "/frr.conf (after)", Context: 3,
	}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		// Writing to a strings.Builder does not fail.
		return fmt.Sprintf("(diff failed: %v)", err)
	}
	return s
}

func joinAddrs(ips []netip.Addr) string {
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return strings.Join(s, ",")
}
