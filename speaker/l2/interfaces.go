package l2

import (
	"bytes"
	"fmt"
	"net"
	"path"
	"slices"
)

// DefaultExclude returns the name patterns (path.Match syntax) of
// interfaces never chosen unless named in an L2Advertisement's interfaces:
// loopback, pod veths, container-runtime and CNI bridges, tunnels and
// overlays.
func DefaultExclude() []string { return slices.Clone(defaultExclude) }

var defaultExclude = []string{
	"lo", "veth*", "docker*", "br-*", "cni*", "cbr*", "kube-bridge", "kube-dummy-if", "kube-ipvs*",
	"flannel*", "cilium*", "lxc*", "cali*", "weave*", "vxlan*", "genev*", "tunl*", "tun*", "tap*",
	"virbr*", "nodelocaldns", "dummy*", "wg*", "nebula*", "zt*",
}

// Link is what interface selection looks at about a network interface.
type Link struct {
	Name         string
	Index        int
	Flags        net.Flags
	HardwareAddr net.HardwareAddr
	MTU          int
}

// Interface returns l as a *net.Interface.
func (l Link) Interface() *net.Interface {
	return &net.Interface{Index: l.Index, Name: l.Name, Flags: l.Flags, HardwareAddr: l.HardwareAddr, MTU: l.MTU}
}

// Usable reports whether l can carry ARP and NDP: administratively up, with
// carrier (running), broadcast-capable, not loopback or point-to-point, and
// with an Ethernet MAC.
func (l Link) Usable() bool {
	return l.Flags&net.FlagUp != 0 && l.Flags&net.FlagRunning != 0 && l.Flags&net.FlagBroadcast != 0 &&
		l.Flags&(net.FlagLoopback|net.FlagPointToPoint) == 0 && len(l.HardwareAddr) == 6
}

func (l Link) equal(o Link) bool {
	return l.Name == o.Name && l.Index == o.Index && l.Flags == o.Flags && l.MTU == o.MTU &&
		bytes.Equal(l.HardwareAddr, o.HardwareAddr)
}

// ListLinks returns the interfaces of the current network namespace.
func ListLinks() ([]Link, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := make([]Link, len(ifs))
	for i, ifi := range ifs {
		out[i] = Link{Name: ifi.Name, Index: ifi.Index, Flags: ifi.Flags, HardwareAddr: ifi.HardwareAddr, MTU: ifi.MTU}
	}
	return out, nil
}

// ValidateExclude checks exclusion patterns, naming the bad one.
func ValidateExclude(patterns []string) error {
	for i, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("interface exclusion pattern %d (%q): %w; use path.Match syntax such as \"veth*\"", i, p, err)
		}
	}
	return nil
}

// SelectInterfaces returns the usable links to answer on, sorted by name.
// With named interfaces (an L2Advertisement's interfaces), those of them
// that exist and are usable, exclusions not applying; without, every usable
// link whose name matches no exclude pattern. Invalid patterns match nothing
// (check them with ValidateExclude).
func SelectInterfaces(links []Link, named []string, exclude []string) []Link {
	var out []Link
	for _, l := range links {
		if !l.Usable() {
			continue
		}
		if len(named) > 0 {
			if slices.Contains(named, l.Name) {
				out = append(out, l)
			}
			continue
		}
		if !excluded(l.Name, exclude) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b Link) int { return cmpString(a.Name, b.Name) })
	return out
}

func excluded(name string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
