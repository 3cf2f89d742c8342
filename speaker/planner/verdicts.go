package planner

import (
	"fmt"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/verdict"
	"github.com/heraldlb/herald/ipam"
)

// Reasons of the Problems this file finds.
const (
	// ReasonPeerAddressIsServiceIP: a BGPPeer's address is a Service's
	// LoadBalancer IP or inside an IPAddressPool.
	ReasonPeerAddressIsServiceIP = "PeerAddressIsServiceAddress"
)

// decidePools gives the planner the pools the controller has in effect
// (verdict.DecidePools: among overlapping pools the oldest keeps its
// addresses), in age order. A pool rejected as invalid (a selector or an
// address that does not parse) keeps serving its last good addresses, or,
// with none known (the speaker restarted), its addresses that parse, as
// long as they overlap no pool in effect: the controller keeps such a
// pool's last good definition too, so its Services keep their IPs.
func decidePools(snap *Snapshot, lastGood map[string]v1beta1.IPAddressPool) (map[string]*pool, []*pool) {
	v := verdict.DecidePools(snap.Pools)
	byName := make(map[string]*v1beta1.IPAddressPool, len(snap.Pools))
	for i := range snap.Pools {
		byName[snap.Pools[i].Name] = &snap.Pools[i]
	}
	out := map[string]*pool{}
	var list []*pool
	var taken []ipam.Range
	add := func(p *pool) {
		out[p.name] = p
		list = append(list, p)
		for _, e := range p.entries {
			taken = append(taken, e.r)
		}
	}
	for _, name := range v.InEffect {
		p := parsePool(byName[name])
		add(p)
		lastGood[name] = *byName[name].DeepCopy()
	}
	// Invalid pools, oldest first as well, after every pool in effect.
	var invalid []v1beta1.IPAddressPool
	for _, p := range snap.Pools {
		if r, ok := v.Rejected[p.Name]; ok && r.Reason == verdict.ReasonInvalidPool {
			if last, ok := snap.LastGood.Pools[p.Name]; ok {
				last.CreationTimestamp = p.CreationTimestamp
				invalid = append(invalid, last)
			} else {
				invalid = append(invalid, p)
			}
		}
	}
	verdict.ByAge(invalid)
	for i := range invalid {
		p := parsePool(&invalid[i])
		if overlapsAny(p, taken) {
			continue
		}
		if _, ok := snap.LastGood.Pools[p.name]; ok {
			lastGood[p.name] = invalid[i]
		}
		add(p)
	}
	return out, list
}

func overlapsAny(p *pool, taken []ipam.Range) bool {
	for _, e := range p.entries {
		for _, r := range taken {
			if e.r.Overlaps(r) {
				return true
			}
		}
	}
	return false
}

// selectorsError reports the first selector of sels that does not parse,
// naming the field.
func selectorsError(field string, sels []metav1.LabelSelector) error {
	for i := range sels {
		if _, err := metav1.LabelSelectorAsSelector(&sels[i]); err != nil {
			return fmt.Errorf("%s[%d] is not a valid label selector (%w)", field, i, err)
		}
	}
	return nil
}

// selectorProblem is the Problem of a selector that does not parse.
func selectorProblem(kind, name, field string, err error) Problem {
	return Problem{Kind: kind, Name: name, Field: field, Reason: ReasonInvalidNodeSelector,
		Message: err.Error() + ": fix the selector (keys and values are at most 63 characters of letters, digits, '-', '_' and '.'; operators In, NotIn, Exists, DoesNotExist)"}
}

// peerAddresses are the addresses BGPPeers (and their last good versions)
// name.
func peerAddresses(snap *Snapshot) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	for i := range snap.Peers {
		if a, err := netip.ParseAddr(snap.Peers[i].Spec.PeerAddress); err == nil {
			out[a.Unmap()] = true
		}
	}
	for _, p := range snap.LastGood.Peers {
		if p.Neighbor.Address.IsValid() {
			out[p.Neighbor.Address] = true
		}
	}
	return out
}

// servicesAt maps those of addrs that are a served Service's IP to the
// Service (namespace/name), with no allocation per Service.
func servicesAt(snap *Snapshot, addrs map[netip.Addr]bool) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	if len(addrs) == 0 {
		return out
	}
	for i := range snap.Services {
		svc := &snap.Services[i]
		if !served(svc, snap.LBClass) {
			continue
		}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil && addrs[a.Unmap()] {
				out[a.Unmap()] = svc.Namespace + "/" + svc.Name
			}
		}
	}
	return out
}

// peerAddressConflict reports a BGPPeer whose address is one herald hands
// to Services: peering with it would route the session into a Service.
func (w *world) peerAddressConflict(p *Peer, serviceIPs map[netip.Addr]string) *Problem {
	a := p.Neighbor.Address
	if !a.IsValid() {
		return nil
	}
	if key, ok := serviceIPs[a]; ok {
		return &Problem{Kind: KindBGPPeer, Name: p.Name, Field: "spec.peerAddress", Reason: ReasonPeerAddressIsServiceIP,
			Message: fmt.Sprintf("%s is the LoadBalancer IP of Service %s: a peer's address must be a router's, outside every IPAddressPool; fix the address", a, key)}
	}
	if pl := poolOf(w.poolList, a); pl != nil {
		return &Problem{Kind: KindBGPPeer, Name: p.Name, Field: "spec.peerAddress", Reason: ReasonPeerAddressIsServiceIP,
			Message: fmt.Sprintf("%s is inside IPAddressPool %s, whose addresses go to Services: a peer's address must be a router's, outside every pool; fix the address, or take it out of the pool", a, pl.name)}
	}
	return nil
}
