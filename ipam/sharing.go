package ipam

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// sharing is what decides whether two Services may share an address.
type sharing struct {
	key      string
	ports    []Port
	traffic  TrafficPolicy
	selector map[string]string
}

func sharingOf(s *Service) sharing {
	if s.SharingKey == "" {
		// conflict looks at nothing else of a Service that shares
		// with nobody: keep (and copy) nothing else.
		return sharing{}
	}
	info := sharing{key: s.SharingKey, traffic: s.TrafficPolicy, selector: maps.Clone(s.Selector)}
	if info.traffic == "" {
		info.traffic = TrafficCluster
	}
	for _, p := range s.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		info.ports = append(info.ports, p)
	}
	return info
}

// conflict says why a Service described by s cannot share an address with
// the Service other (described by o), or returns nil.
func conflict(ip netip.Addr, s sharing, other string, o sharing) *Error {
	if s.key == "" || o.key == "" || s.key != o.key {
		why := "which does not share it"
		if o.key != "" {
			why = fmt.Sprintf("with sharing key %q", o.key)
		}
		fix := "request another address, or give both Services the same allow-shared-ip annotation"
		return newError(RequestedIPUnavailable, fmt.Sprintf("address %s is used by Service %s %s: %s", ip, other, why, fix))
	}
	for _, p := range s.ports {
		if slices.Contains(o.ports, p) {
			return newError(SharingConflict, fmt.Sprintf("address %s is shared (key %q) with Service %s, which already uses port %d/%s: use another port, or another sharing key", ip, s.key, other, p.Port, p.Protocol))
		}
	}
	if s.traffic != o.traffic {
		return newError(SharingConflict, fmt.Sprintf("address %s is shared (key %q) with Service %s, whose externalTrafficPolicy is %s, not %s: set the same externalTrafficPolicy on both, or use another sharing key", ip, s.key, other, o.traffic, s.traffic))
	}
	if s.traffic == TrafficLocal && !maps.Equal(s.selector, o.selector) {
		return newError(SharingConflict, fmt.Sprintf("address %s is shared (key %q) with Service %s, which has externalTrafficPolicy Local and another pod selector: Local Services sharing an address must select the same pods", ip, s.key, other))
	}
	return nil
}

// shareable says whether the Service self (nil if it holds nothing) with
// sharing info s may hold ip, given the other Services holding it.
func (a *Allocator) shareable(ip netip.Addr, s sharing, self *svcEntry) *Error {
	ent := a.ips[ip]
	if ent == nil {
		return nil
	}
	for _, u := range ent.users {
		if u == self {
			continue
		}
		if err := conflict(ip, s, u.key, u.info); err != nil {
			return err
		}
	}
	return nil
}
