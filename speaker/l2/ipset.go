package l2

import (
	"net/netip"
	"slices"
	"sync"
)

// ipSet is a set of IPs read by a responder's read loop and replaced by the
// announcer; safe for concurrent use.
type ipSet struct {
	mu  sync.RWMutex
	ips map[netip.Addr]bool
}

func (s *ipSet) has(ip netip.Addr) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ips[ip.Unmap()]
}

// replace sets the set to ips and returns the IPs added and removed.
func (s *ipSet) replace(ips []netip.Addr) (added, removed []netip.Addr) {
	next := make(map[netip.Addr]bool, len(ips))
	for _, ip := range ips {
		next[ip.Unmap()] = true
	}
	s.mu.Lock()
	prev := s.ips
	s.ips = next
	s.mu.Unlock()
	for ip := range next {
		if !prev[ip] {
			added = append(added, ip)
		}
	}
	for ip := range prev {
		if !next[ip] {
			removed = append(removed, ip)
		}
	}
	slices.SortFunc(added, netip.Addr.Compare)
	slices.SortFunc(removed, netip.Addr.Compare)
	return added, removed
}

func (s *ipSet) list() []netip.Addr {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]netip.Addr, 0, len(s.ips))
	for ip := range s.ips {
		out = append(out, ip)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
