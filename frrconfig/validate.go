package frrconfig

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// FieldError is one problem with one field of a Config.
type FieldError struct {
	// Field is the path of the field, e.g. "routers[0].neighbors[1].password".
	Field string
	// Problem says what is wrong and how to fix it.
	Problem string
}

// Error returns "field: problem".
func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// ValidationError lists every problem Validate found.
type ValidationError struct {
	// Fields holds the problems in the order of the Config's fields.
	Fields []FieldError
}

// Error lists every problem on one line.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return "invalid frr config: " + strings.Join(msgs, "; ")
}

type validator struct{ errs []FieldError }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

var (
	// ifNameRE is what herald accepts as a Linux interface or VRF name: a
	// subset of what the kernel allows that FRR reads as one word.
	ifNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,14}$`)
	// profileNameRE is what herald accepts as a BFD profile name.
	profileNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
)

var logLevels = map[string]bool{
	"emergencies": true, "alerts": true, "critical": true, "errors": true, "warnings": true,
	"notifications": true, "informational": true, "debugging": true,
}

// wellKnownCommunities maps the names FRR prints to their values.
var wellKnownCommunities = map[string]uint32{
	"graceful-shutdown": 0xFFFF0000,
	"blackhole":         0xFFFF029A,
	"no-export":         0xFFFFFF01,
	"no-advertise":      0xFFFFFF02,
	"local-AS":          0xFFFFFF03,
	"no-peer":           0xFFFFFF04,
}

// Validate checks c and returns a *ValidationError listing every problem,
// each naming its field, or nil when c can be rendered.
func (c *Config) Validate() error {
	if c == nil {
		return &ValidationError{Fields: []FieldError{{Field: "config", Problem: "is nil"}}}
	}
	v := &validator{}
	if c.LogLevel != "" && !logLevels[c.LogLevel] {
		v.add("logLevel", "%q is not an FRR log level: use one of emergencies, alerts, critical, errors, warnings, notifications, informational, debugging", c.LogLevel)
	}
	if c.RouteMapDelaySeconds > 600 {
		v.add("routeMapDelaySeconds", "%d s is out of range: use 1-600, or 0 for FRR's default (5)", c.RouteMapDelaySeconds)
	}
	profiles := map[string]bool{}
	for i, p := range c.BFDProfiles {
		validateBFDProfile(v, fmt.Sprintf("bfdProfiles[%d]", i), p)
		if profiles[p.Name] {
			v.add(fmt.Sprintf("bfdProfiles[%d].name", i), "profile %q is defined twice: give each profile one entry", p.Name)
		}
		profiles[p.Name] = true
	}
	vrfs := map[string]int{}
	for i, r := range c.Routers {
		path := fmt.Sprintf("routers[%d]", i)
		if j, dup := vrfs[r.VRF]; dup {
			v.add(path+".vrf", "routers[%d] is already in VRF %q: FRR runs one BGP router per VRF", j, r.VRF)
		} else {
			vrfs[r.VRF] = i
		}
		validateRouter(v, path, &r, profiles)
	}
	if len(v.errs) > 0 {
		return &ValidationError{Fields: v.errs}
	}
	return nil
}

func validateBFDProfile(v *validator, path string, p BFDProfile) {
	if !profileNameRE.MatchString(p.Name) {
		v.add(path+".name", "%q is not a valid profile name: use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'", p.Name)
	}
	interval := func(field string, ms uint32) {
		if ms != 0 && (ms < 10 || ms > 60000) {
			v.add(path+"."+field, "%d ms is out of range: use 10-60000, or 0 for FRR's default", ms)
		}
	}
	interval("receiveInterval", p.ReceiveInterval)
	interval("transmitInterval", p.TransmitInterval)
	interval("echoInterval", p.EchoInterval)
	if p.DetectMultiplier == 1 {
		v.add(path+".detectMultiplier", "1 is out of range: use 2-255, or 0 for FRR's default (3)")
	}
	if p.MinimumTTL == 255 {
		v.add(path+".minimumTtl", "255 is out of range: use 1-254, or 0 for FRR's default (254)")
	}
}

func validateRouter(v *validator, path string, r *Router, profiles map[string]bool) {
	if r.ASN == 0 {
		v.add(path+".asn", "is 0: set the local ASN (1-4294967295)")
	}
	if r.VRF != "" && (!ifNameRE.MatchString(r.VRF) || r.VRF == "default") {
		v.add(path+".vrf", "%q is not a valid VRF name: use 1-15 letters, digits, '.', '_' or '-' (not \"default\": leave it empty for the default VRF)", r.VRF)
	}
	if r.RouterID.IsValid() && (!r.RouterID.Is4() || r.RouterID.IsUnspecified()) {
		v.add(path+".routerID", "%s is not an IPv4 address: the BGP router-id is an IPv4 address, or leave it empty", r.RouterID)
	}
	checkNets := func(field string, nets []netip.Prefix, want4 bool) {
		sorted := slices.IsSortedFunc(nets, comparePrefixes)
		var seen map[netip.Prefix]bool
		if !sorted {
			seen = make(map[netip.Prefix]bool, len(nets))
		}
		for j, p := range nets {
			if problem := prefixProblem(p, want4); problem != "" {
				v.add(fmt.Sprintf("%s.%s[%d]", path, field, j), "%s", problem)
				continue
			}
			dup := false
			if sorted {
				dup = j > 0 && nets[j-1] == p
			} else {
				dup = seen[p]
				seen[p] = true
			}
			if dup {
				v.add(fmt.Sprintf("%s.%s[%d]", path, field, j), "%s is listed twice: list each network once", p)
			}
		}
	}
	checkNets("ipv4Networks", r.IPv4Networks, true)
	checkNets("ipv6Networks", r.IPv6Networks, false)
	networks := newNetworkSet(r.IPv4Networks, r.IPv6Networks)
	keys := map[string]int{}
	for j, n := range r.Neighbors {
		np := fmt.Sprintf("%s.neighbors[%d]", path, j)
		validateNeighbor(v, np, r, &n, profiles, networks)
		if k := n.name(); k != "" {
			if other, dup := keys[k]; dup {
				v.add(np, "neighbor %s is already neighbors[%d]: list each neighbor once per router", k, other)
			} else {
				keys[k] = j
			}
		}
	}
}

// prefixProblem says what is wrong with p as a prefix of the wanted family
// in canonical form, or "" when nothing is.
func prefixProblem(p netip.Prefix, want4 bool) string {
	switch {
	case !p.IsValid():
		return "is not a valid prefix: use CIDR notation such as 192.0.2.10/32"
	case p.Addr().Zone() != "":
		return p.String() + " has an IPv6 zone: networks have none"
	case want4 && !p.Addr().Is4():
		return p.String() + " is not an IPv4 prefix: list it in ipv6Networks"
	case !want4 && (!p.Addr().Is6() || p.Addr().Is4In6()):
		return p.String() + " is not an IPv6 prefix: list it in ipv4Networks"
	case p.Bits() != p.Addr().BitLen() && p.Masked() != p:
		return p.String() + " has host bits set: use " + p.Masked().String()
	}
	return ""
}

func validateNeighbor(v *validator, path string, r *Router, n *Neighbor, profiles map[string]bool, networks *networkSet) {
	switch {
	case n.Address.IsValid() && n.Interface != "":
		v.add(path, "sets both address %s and interface %q: set the address, or the interface for an unnumbered peer", n.Address, n.Interface)
	case n.Address.IsValid():
		if n.Address.Zone() != "" || n.Address.IsUnspecified() || n.Address.Is4In6() {
			v.add(path+".address", "%s is not a usable peer address: use a unicast IPv4 or IPv6 address without zone", n.Address)
		}
	case n.Interface != "":
		if !ifNameRE.MatchString(n.Interface) {
			v.add(path+".interface", "%q is not a valid interface name: use 1-15 letters, digits, '.', '_' or '-', starting with a letter or '_'", n.Interface)
		}
	default:
		v.add(path, "sets neither address nor interface: set the peer's address, or the interface for an unnumbered peer")
	}
	ibgp := false
	switch n.RemoteAS {
	case "internal":
		ibgp = true
	case "external":
	default:
		asn, err := strconv.ParseUint(n.RemoteAS, 10, 32)
		if err != nil || asn == 0 || strconv.FormatUint(asn, 10) != n.RemoteAS {
			v.add(path+".remoteAS", "%q is not an ASN: use a decimal number 1-4294967295, \"internal\" or \"external\"", n.RemoteAS)
		}
		ibgp = asn == uint64(r.ASN)
	}
	if t := n.Timers; t != nil && t.Hold != 0 && t.Hold < 3 {
		v.add(path+".timers.hold", "%d s is out of range: use 0 (no keepalives) or 3-65535", t.Hold)
	}
	if !validPassword(n.Password) {
		v.add(path+".password", "is not a valid password: use 1-80 printable ASCII characters without spaces, not starting with '!' or '#'")
	}
	if s := n.UpdateSource; s != "" {
		if n.Interface != "" {
			v.add(path+".updateSource", "is set on an unnumbered peer: its session always uses the interface's link-local address; remove it")
		} else if a, err := netip.ParseAddr(s); err == nil {
			if a.Zone() != "" || a.String() != s {
				v.add(path+".updateSource", "%q is not in canonical form: use %q without zone", s, a.WithZone("").String())
			}
		} else if !ifNameRE.MatchString(s) {
			v.add(path+".updateSource", "%q is neither an IP address nor an interface name", s)
		}
	}
	if n.EBGPMultihop == 1 {
		v.add(path+".ebgpMultihop", "1 is a directly connected peer: use 0 for that, or 2-255 hops")
	}
	if n.EBGPMultihop > 1 && ibgp {
		v.add(path+".ebgpMultihop", "is set on an iBGP peer: ebgp-multihop applies to eBGP peers only; remove it")
	}
	if n.BFDProfile != "" {
		if !n.BFD {
			v.add(path+".bfdProfile", "is set but bfd is false: set bfd to true, or remove the profile")
		}
		if !profiles[n.BFDProfile] {
			v.add(path+".bfdProfile", "names %q, which is not in bfdProfiles: add the profile or fix the name", n.BFDProfile)
		}
	}
	validateFamilies(v, path, n)
	validateAdvertisements(v, path, n.Advertise, networks)
}

// validateFamilies checks a neighbor's Families, and that it is advertised
// no prefix of a family it is not activated in.
func validateFamilies(v *validator, path string, n *Neighbor) {
	if len(n.Families) == 0 {
		return
	}
	seen := map[string]bool{}
	for k, f := range n.Families {
		switch {
		case f != FamilyIPv4 && f != FamilyIPv6:
			v.add(fmt.Sprintf("%s.families[%d]", path, k), "%q is not an address family: use %q or %q", f, FamilyIPv4, FamilyIPv6)
		case seen[f]:
			v.add(fmt.Sprintf("%s.families[%d]", path, k), "%q is listed twice: list each family once", f)
		}
		seen[f] = true
	}
	fs := familiesOf(n)
	for k, a := range n.Advertise {
		if a.Prefix.IsValid() && !fs[familyOf(a.Prefix)] {
			v.add(fmt.Sprintf("%s.advertise[%d].prefix", path, k), "%s is %s, a family the neighbor is not activated in: add %q to its families, or do not advertise it there",
				a.Prefix, familyOf(a.Prefix).Name(), familyOf(a.Prefix).short())
		}
	}
}

// validateAdvertisements checks a neighbor's advertisements. It is on the
// path of every Render and Diff, so it allocates only for problems: field
// paths are built when a problem is found, and communities already seen
// valid are not parsed again.
func validateAdvertisements(v *validator, path string, adv []Advertisement, networks *networkSet) {
	field := func(k int, rest string) string { return fmt.Sprintf("%s.advertise[%d]%s", path, k, rest) }
	sorted := slices.IsSortedFunc(adv, func(a, b Advertisement) int { return comparePrefixes(a.Prefix, b.Prefix) })
	var seen map[netip.Prefix]bool
	if !sorted {
		seen = make(map[netip.Prefix]bool, len(adv))
	}
	goodCommunities := map[string]bool{}
	for k, a := range adv {
		if problem := prefixProblem(a.Prefix, !a.Prefix.IsValid() || a.Prefix.Addr().Is4()); problem != "" {
			v.add(field(k, ".prefix"), "%s", problem)
			continue
		}
		dup := false
		if sorted {
			dup = k > 0 && adv[k-1].Prefix == a.Prefix
		} else {
			dup = seen[a.Prefix]
			seen[a.Prefix] = true
		}
		if dup {
			v.add(field(k, ".prefix"), "%s is advertised twice to this neighbor: give each prefix one entry", a.Prefix)
		}
		if !networks.has(a.Prefix) {
			v.add(field(k, ".prefix"), "%s is not one of the router's networks: add it to ipv4Networks/ipv6Networks", a.Prefix)
		}
		for m, s := range a.Communities {
			if goodCommunities[s] {
				continue
			}
			if _, err := parseCommunity(s); err != nil {
				v.add(field(k, fmt.Sprintf(".communities[%d]", m)), "%v", err)
				continue
			}
			goodCommunities[s] = true
		}
		for m, s := range a.LargeCommunities {
			if goodCommunities[s] {
				continue
			}
			if _, err := parseLargeCommunity(s); err != nil {
				v.add(field(k, fmt.Sprintf(".largeCommunities[%d]", m)), "%v", err)
				continue
			}
			goodCommunities[s] = true
		}
	}
}

// networkSet answers whether a prefix is one of a router's networks: by
// binary search when the networks are sorted, else through a map.
type networkSet struct {
	sorted [2][]netip.Prefix
	next   [2]int // where the last lookup per family ended
	m      map[netip.Prefix]bool
}

func newNetworkSet(v4, v6 []netip.Prefix) *networkSet {
	if slices.IsSortedFunc(v4, comparePrefixes) && slices.IsSortedFunc(v6, comparePrefixes) {
		return &networkSet{sorted: [2][]netip.Prefix{v4, v6}}
	}
	m := make(map[netip.Prefix]bool, len(v4)+len(v6))
	for _, p := range v4 {
		m[p] = true
	}
	for _, p := range v6 {
		m[p] = true
	}
	return &networkSet{m: m}
}

// has reports whether p is one of the networks. Lookups in ascending order
// (the usual case: sorted advertisements) cost O(1) amortised each.
func (s *networkSet) has(p netip.Prefix) bool {
	if s.m != nil {
		return s.m[p]
	}
	f := familyOf(p)
	nets, i := s.sorted[f], s.next[f]
	if i > 0 && comparePrefixes(nets[i-1], p) >= 0 {
		i = 0 // not ascending: start over
	}
	if i < len(nets) && comparePrefixes(nets[i], p) < 0 {
		// Gallop, then binary search in the last step.
		step := 1
		for i+step < len(nets) && comparePrefixes(nets[i+step], p) < 0 {
			i += step
			step *= 2
		}
		j, _ := slices.BinarySearchFunc(nets[i+1:min(i+step+1, len(nets))], p, comparePrefixes)
		i += 1 + j
	}
	s.next[f] = i
	return i < len(nets) && nets[i] == p
}

func validPassword(p string) bool {
	if p == "" {
		return true
	}
	if len(p) > 80 || p[0] == '!' || p[0] == '#' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '!' || p[i] > '~' {
			return false
		}
	}
	return true
}

// parseCommunity returns the value of a standard community.
func parseCommunity(s string) (uint32, error) {
	if v, ok := wellKnownCommunities[s]; ok {
		return v, nil
	}
	hi, lo, ok := strings.Cut(s, ":")
	a, errA := parseUint(hi, math.MaxUint16)
	b, errB := parseUint(lo, math.MaxUint16)
	if !ok || errA != nil || errB != nil {
		return 0, fmt.Errorf("%q is not a standard community: use ASN:VALUE with both in 0-65535, or no-export, no-advertise, local-AS, no-peer, blackhole, graceful-shutdown", s)
	}
	if a == 0xFFFF || (a == 0 && b == 0) {
		return 0, fmt.Errorf("%q is in the reserved range (0:0, 65535:x): use the well-known name, or another value", s)
	}
	return uint32(a<<16 | b), nil
}

// largeCommunity is a parsed RFC 8092 community.
type largeCommunity [3]uint32

// parseLargeCommunity returns the value of a large community.
func parseLargeCommunity(s string) (largeCommunity, error) {
	parts := strings.Split(s, ":")
	var lc largeCommunity
	if len(parts) != 3 {
		return lc, fmt.Errorf("%q is not a large community: use GLOBAL:LOCAL1:LOCAL2, each 0-4294967295", s)
	}
	for i, p := range parts {
		n, err := parseUint(p, math.MaxUint32)
		if err != nil {
			return lc, fmt.Errorf("%q is not a large community: use GLOBAL:LOCAL1:LOCAL2, each 0-4294967295", s)
		}
		lc[i] = uint32(n)
	}
	return lc, nil
}

// parseUint parses a canonical decimal number (no sign, no leading zeros)
// no larger than limit.
func parseUint(s string, limit uint64) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > limit || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%q is not a decimal number in 0-%d", s, limit)
	}
	return n, nil
}

// name is how FRR names the neighbor: its address or its interface.
func (n *Neighbor) name() string {
	if n.Interface != "" {
		return n.Interface
	}
	if n.Address.IsValid() {
		return n.Address.String()
	}
	return ""
}
