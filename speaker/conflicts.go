package speaker

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/speaker/l2"
)

// HostAddr is an address on one of the node's interfaces.
type HostAddr struct {
	Interface string
	IP        netip.Addr
}

// DefaultHostConflictIgnore are the interfaces whose addresses are no
// conflict in BGP mode: kube-proxy in IPVS mode puts every LoadBalancer IP
// on kube-ipvs0 of every node.
func DefaultHostConflictIgnore() []string { return []string{"kube-ipvs0"} }

// ListHostAddrs lists the addresses of the node's interfaces.
func ListHostAddrs() ([]HostAddr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var out []HostAddr
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("listing the addresses of %s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, HostAddr{Interface: ifi.Name, IP: ip.Unmap()})
				}
			}
		}
	}
	return out, nil
}

// DropHostConflicts removes from cfg the Service IPs (single-address
// networks) that are on one of the node's interfaces other than those
// ignored — put there by someone else than herald, which never adds a
// Service IP to an interface: announcing them would draw to this node
// traffic for a host address, or steal it from the host that holds it. It
// returns the config without them, which cfg is not changed into (cfg
// itself, sharing its lists, when none is there), and the conflicts,
// sorted by IP. An aggregate covering such an IP stays: it carries other
// Services.
func DropHostConflicts(cfg frrconfig.Config, addrs []HostAddr, ignore []string) (frrconfig.Config, []v1beta1.IPConflict) {
	on := map[netip.Addr]string{}
	for _, a := range addrs {
		if !slices.Contains(ignore, a.Interface) {
			if _, ok := on[a.IP]; !ok {
				on[a.IP] = a.Interface
			}
		}
	}
	bad := func(p netip.Prefix) bool {
		_, ok := on[p.Addr().Unmap()]
		return ok && p.IsSingleIP()
	}
	if !anyPrefix(&cfg, bad) {
		// The common case: no copy of every list.
		return cfg, nil
	}
	var conflicts []v1beta1.IPConflict
	seen := map[netip.Addr]bool{}
	out := cfg
	out.Routers = slices.Clone(cfg.Routers)
	for i := range out.Routers {
		r := &out.Routers[i]
		for _, p := range append(slices.Clone(r.IPv4Networks), r.IPv6Networks...) {
			if ip := p.Addr().Unmap(); bad(p) && !seen[ip] {
				seen[ip] = true
				conflicts = append(conflicts, v1beta1.IPConflict{IP: ip.String(), Mode: "BGP", Interface: on[ip]})
			}
		}
		r.IPv4Networks = slices.DeleteFunc(slices.Clone(r.IPv4Networks), bad)
		r.IPv6Networks = slices.DeleteFunc(slices.Clone(r.IPv6Networks), bad)
		r.Neighbors = slices.Clone(r.Neighbors)
		for j := range r.Neighbors {
			r.Neighbors[j].Advertise = slices.DeleteFunc(slices.Clone(r.Neighbors[j].Advertise), func(a frrconfig.Advertisement) bool { return bad(a.Prefix) })
		}
	}
	slices.SortFunc(conflicts, func(a, b v1beta1.IPConflict) int {
		return netip.MustParseAddr(a.IP).Compare(netip.MustParseAddr(b.IP))
	})
	return out, conflicts
}

// anyPrefix reports whether bad holds for a network or an advertised
// prefix of cfg.
func anyPrefix(cfg *frrconfig.Config, bad func(netip.Prefix) bool) bool {
	for _, r := range cfg.Routers {
		if slices.ContainsFunc(r.IPv4Networks, bad) || slices.ContainsFunc(r.IPv6Networks, bad) {
			return true
		}
		for _, n := range r.Neighbors {
			for _, a := range n.Advertise {
				if bad(a.Prefix) {
					return true
				}
			}
		}
	}
	return false
}

// l2Conflicts is how NodeState reports Layer 2 conflicts.
func l2Conflicts(cs []l2.Conflict) []v1beta1.IPConflict {
	var out []v1beta1.IPConflict
	for _, c := range cs {
		out = append(out, v1beta1.IPConflict{IP: c.IP.String(), Mode: "L2", Interface: c.Interface, MAC: c.MAC.String(), Announcing: c.Answering})
	}
	return out
}

// conflicter is an L2 that detects conflicts (*l2.Node).
type conflicter interface {
	Conflicts() []l2.Conflict
}

// conflictNotifier is an L2 that says when its conflicts change
// (*l2.Node).
type conflictNotifier interface {
	ConflictsChanged() <-chan struct{}
}

// dropHostConflicts is DropHostConflicts on the node's addresses now,
// which it keeps for hostChanged. When they cannot be listed, cfg is
// announced whole, as before conflict detection.
func (s *Speaker) dropHostConflicts(cfg frrconfig.Config) (frrconfig.Config, []v1beta1.IPConflict) {
	addrs, err := s.cfg.HostAddrs()
	if err != nil {
		s.cfg.Log.Error(err, "listing the node's addresses: Service IPs on them are not looked for")
		return cfg, nil
	}
	s.hostAddrs = hostAddrSet(addrs, s.cfg.HostConflictIgnore)
	out, conflicts := DropHostConflicts(cfg, addrs, s.cfg.HostConflictIgnore)
	if !slices.Equal(conflicts, s.hostConflicts) {
		for _, c := range conflicts {
			s.cfg.Log.Info("a Service IP is on one of this node's interfaces, put there by something other than herald: not announcing it over BGP",
				"ip", c.IP, "interface", c.Interface)
		}
	}
	return out, conflicts
}

// hostChanged reports whether the node's addresses changed since the last
// plan, in a way that may change its conflicts.
func (s *Speaker) hostChanged() bool {
	addrs, err := s.cfg.HostAddrs()
	if err != nil {
		return false
	}
	return !maps.Equal(hostAddrSet(addrs, s.cfg.HostConflictIgnore), s.hostAddrs)
}

func hostAddrSet(addrs []HostAddr, ignore []string) map[HostAddr]bool {
	out := map[HostAddr]bool{}
	for _, a := range addrs {
		if !slices.Contains(ignore, a.Interface) {
			out[a] = true
		}
	}
	return out
}

// AnsweredIPs returns the IPs the NodeStates list as answered for in
// Layer 2 mode, sorted and without repeats: read at start-up, they are
// the IPs herald answered for before this node's speaker (re)started,
// which it takes over without probing (l2.NodeConfig.AnsweredBefore). An
// unparsable IP is skipped.
func AnsweredIPs(states []v1beta1.NodeState) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, s := range states {
		for _, a := range s.Status.L2Announcements {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil || seen[ip] {
				continue
			}
			seen[ip] = true
			out = append(out, ip)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
