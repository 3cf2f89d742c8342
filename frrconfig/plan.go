package frrconfig

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// plan is a Config with every decision taken: names, sequence numbers,
// defaults, FRR's order. Render prints it through the templates; Diff
// builds the parts of it that changed and prints them through the same
// templates.
type plan struct {
	LogLevel      string // empty when FRR would print plain `log stdout`
	RouteMapDelay uint16 // 0 when FRR's default
	Routers       []*routerPlan
	RouteMaps     []*routeMap // by name: neighbors' and classes'
	BFDProfiles   []*bfdPlan  // by name
}

type routerPlan struct {
	ASN      uint32
	VRF      string
	RouterID string
	// GracefulShutdown prints `bgp graceful-shutdown`.
	GracefulShutdown bool
	Neighbors        []*neighborPlan // in FRR's order: interfaces, IPv4, IPv6
	AFs              []*afPlan       // ipv4 unicast, ipv6 unicast; only those with lines
}

type neighborPlan struct {
	Name            string
	Interface       bool
	RemoteAS        string
	BFD             bool
	BFDProfile      string
	Password        string
	Port            uint16 // 0 when BGP's default
	EBGPMultihop    uint8
	UpdateSource    string
	Timers          *Timers
	ConnectTime     uint16
	GracefulRestart bool
	// Families are the address families the neighbor is activated in.
	Families [2]bool
	InMap    string
	OutMap   string
	addr     netip.Addr
}

type afPlan struct {
	Family    family
	Networks  []network       // in table order
	Neighbors []*neighborPlan // activated in this family
}

// NetworkLines prints the network lines, each preceded by a newline. They
// are printed in Go, not by a template range: a node may announce tens of
// thousands, and text/template's reflection would be most of Render's cost.
func (af *afPlan) NetworkLines() string {
	n := 0
	for _, nw := range af.Networks {
		n += len("\n  network ") + len("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128") + len(" route-map ") + len(nw.RouteMap)
	}
	b := make([]byte, 0, n)
	for _, nw := range af.Networks {
		b = append(b, "\n  network "...)
		b = nw.pfx.AppendTo(b)
		if nw.RouteMap != "" {
			b = append(b, " route-map "...)
			b = append(b, nw.RouteMap...)
		}
	}
	return string(b)
}

// network is one `network` line: a prefix and the route-map that tags it
// with its class; RouteMap is empty for a prefix no neighbor receives.
type network struct {
	pfx      netip.Prefix
	RouteMap string
	class    *class
}

// family is an address family: ipv4 or ipv6 unicast.
type family int

const (
	ipv4 family = iota
	ipv6
)

// Name is how FRR names the address family in `address-family`.
func (f family) Name() string {
	if f == ipv4 {
		return "ipv4 unicast"
	}
	return "ipv6 unicast"
}

// short is the family's name in Neighbor.Families.
func (f family) short() string {
	if f == ipv4 {
		return FamilyIPv4
	}
	return FamilyIPv6
}

func familyOf(p netip.Prefix) family {
	if p.Addr().Is4() {
		return ipv4
	}
	return ipv6
}

type routeMap struct {
	Name    string
	Entries []*rmEntry // by seq
}

type rmEntry struct {
	Map              string
	Action           string // permit or deny
	Seq              uint32
	MatchTag         uint32 // 0: no match line
	SetTag           uint32 // 0: no set line
	Communities      string // space-separated, FRR's order; empty: no set line
	LargeCommunities string
	LocalPref        string
}

type bfdPlan struct {
	Name             string
	DetectMultiplier uint8 // 0: FRR's default, not printed
	TransmitInterval uint32
	ReceiveInterval  uint32
	PassiveMode      bool
	EchoMode         bool
	EchoInterval     uint32
	MinimumTTL       uint8
}

// FRR's defaults, which it does not print.
const (
	defaultPort          = 179
	defaultInterval      = 300
	defaultMultiplier    = 3
	defaultEchoInterv    = 50
	defaultMinimumTTL    = 254
	defaultLogLevel      = "informational"
	defaultRouteMapDelay = 5
	stdoutDefaultLevel   = "debugging"
)

func nonDefault[T comparable](v, def T) T {
	var zero T
	if v == def {
		return zero
	}
	return v
}

// buildPlan takes every decision for a valid config.
func buildPlan(c *Config) *plan {
	p := &plan{LogLevel: cmp.Or(c.LogLevel, defaultLogLevel)}
	if p.LogLevel == stdoutDefaultLevel {
		p.LogLevel = ""
	}
	p.RouteMapDelay = nonDefault(c.RouteMapDelaySeconds, defaultRouteMapDelay)
	for _, b := range c.BFDProfiles {
		p.BFDProfiles = append(p.BFDProfiles, &bfdPlan{
			Name:             b.Name,
			DetectMultiplier: nonDefault(b.DetectMultiplier, defaultMultiplier),
			TransmitInterval: nonDefault(b.TransmitInterval, defaultInterval),
			ReceiveInterval:  nonDefault(b.ReceiveInterval, defaultInterval),
			PassiveMode:      b.PassiveMode,
			EchoMode:         b.EchoMode,
			EchoInterval:     nonDefault(b.EchoInterval, defaultEchoInterv),
			MinimumTTL:       nonDefault(b.MinimumTTL, defaultMinimumTTL),
		})
	}
	slices.SortFunc(p.BFDProfiles, func(a, b *bfdPlan) int { return strings.Compare(a.Name, b.Name) })
	var classes []*class
	for i := range c.Routers {
		r := &c.Routers[i]
		rp := &routerPlan{ASN: r.ASN, VRF: r.VRF, GracefulShutdown: r.GracefulShutdown}
		if r.RouterID.IsValid() {
			rp.RouterID = r.RouterID.String()
		}
		for j := range r.Neighbors {
			np := neighborOf(r, &r.Neighbors[j])
			rp.Neighbors = append(rp.Neighbors, np)
			p.RouteMaps = append(p.RouteMaps, &routeMap{Name: np.InMap, Entries: []*rmEntry{{Map: np.InMap, Action: "deny", Seq: 1}}})
		}
		slices.SortFunc(rp.Neighbors, compareNeighbors)
		rc, index, classOf := classesOf(r)
		classes = append(classes, rc...)
		for _, f := range []family{ipv4, ipv6} {
			nets := r.IPv4Networks
			if f == ipv6 {
				nets = r.IPv6Networks
			}
			if !slices.IsSortedFunc(nets, comparePrefixes) {
				nets = slices.Clone(nets)
				slices.SortFunc(nets, comparePrefixes)
			}
			af := &afPlan{Family: f, Networks: make([]network, len(nets))}
			for i, pf := range nets {
				af.Networks[i].pfx = pf
				if pi, ok := index[pf]; ok {
					af.Networks[i].class = classOf[pi]
				}
			}
			for _, np := range rp.Neighbors {
				if np.Families[f] {
					af.Neighbors = append(af.Neighbors, np)
				}
			}
			if len(af.Networks) > 0 || len(af.Neighbors) > 0 {
				rp.AFs = append(rp.AFs, af)
			}
		}
		p.Routers = append(p.Routers, rp)
	}
	p.RouteMaps = append(p.RouteMaps, policyMaps(p.Routers, classes)...)
	for _, rp := range p.Routers {
		for _, af := range rp.AFs {
			for i := range af.Networks {
				if cl := af.Networks[i].class; cl != nil {
					af.Networks[i].RouteMap = cl.name
				}
			}
		}
	}
	slices.SortFunc(p.Routers, func(a, b *routerPlan) int { return strings.Compare(a.VRF, b.VRF) })
	slices.SortFunc(p.RouteMaps, func(a, b *routeMap) int { return strings.Compare(a.Name, b.Name) })
	return p
}

// neighborOf decides how a neighbor is configured.
func neighborOf(r *Router, n *Neighbor) *neighborPlan {
	np := &neighborPlan{
		Name:            n.name(),
		Interface:       n.Interface != "",
		RemoteAS:        n.RemoteAS,
		BFD:             n.BFD,
		BFDProfile:      n.BFDProfile,
		Password:        n.Password,
		Port:            nonDefault(n.Port, defaultPort),
		EBGPMultihop:    n.EBGPMultihop,
		UpdateSource:    n.UpdateSource,
		Timers:          n.Timers,
		ConnectTime:     n.ConnectTime,
		GracefulRestart: n.GracefulRestart,
		addr:            n.Address,
	}
	key := np.Name
	if r.VRF != "" {
		key += "@" + r.VRF
	}
	np.InMap, np.OutMap = key+"-in", key+"-out"
	np.Families = familiesOf(n)
	return np
}

// familiesOf returns the address families a neighbor is activated in: its
// Families when set, else the older rule (see Neighbor.Families).
func familiesOf(n *Neighbor) [2]bool {
	var fs [2]bool
	if len(n.Families) > 0 {
		for _, f := range n.Families {
			switch f {
			case FamilyIPv4:
				fs[ipv4] = true
			case FamilyIPv6:
				fs[ipv6] = true
			}
		}
		return fs
	}
	switch {
	case n.Interface != "":
		fs = [2]bool{true, true}
	case n.Address.Is4():
		fs[ipv4] = true
	default:
		fs[ipv6] = true
	}
	for _, a := range n.Advertise {
		fs[familyOf(a.Prefix)] = true
	}
	return fs
}

// compareNeighbors is FRR's order: unnumbered peers by interface name,
// then IPv4 peers, then IPv6 peers, by address.
func compareNeighbors(a, b *neighborPlan) int {
	rank := func(n *neighborPlan) int {
		switch {
		case n.Interface:
			return 0
		case n.addr.Is4():
			return 1
		}
		return 2
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	if a.Interface {
		return strings.Compare(a.Name, b.Name)
	}
	return a.addr.Compare(b.addr)
}

// comparePrefixes is the order of FRR's routing table: by address, then
// shorter prefixes first.
func comparePrefixes(a, b netip.Prefix) int {
	if a.Addr().Is4() && b.Addr().Is4() {
		x, y := a.Addr().As4(), b.Addr().As4()
		if c := cmp.Compare(uint32(x[0])<<24|uint32(x[1])<<16|uint32(x[2])<<8|uint32(x[3]),
			uint32(y[0])<<24|uint32(y[1])<<16|uint32(y[2])<<8|uint32(y[3])); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	}
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// attrs are the attributes a prefix is sent with, in FRR's printed form.
type attrs struct {
	family           family
	communities      string
	largeCommunities string
	localPref        string
}

func (a attrs) key() string {
	return strconv.Itoa(int(a.family)) + "|" + a.policyKey()
}

// policyKey is the attributes without the family: what a route-map entry sets.
func (a attrs) policyKey() string {
	return a.communities + "|" + a.largeCommunities + "|" + a.localPref
}

// attrsOf puts an advertisement's attributes in FRR's form: standard
// communities sorted by value and printed with FRR's names for the
// well-known ones, large communities sorted, duplicates dropped.
func attrsOf(a *Advertisement) attrs {
	at := attrs{family: familyOf(a.Prefix)}
	if len(a.Communities) > 0 {
		vals := make([]uint32, 0, len(a.Communities))
		for _, s := range a.Communities {
			v, _ := parseCommunity(s)
			vals = append(vals, v)
		}
		slices.Sort(vals)
		vals = slices.Compact(vals)
		words := make([]string, len(vals))
		for i, v := range vals {
			words[i] = communityString(v)
		}
		at.communities = strings.Join(words, " ")
	}
	if len(a.LargeCommunities) > 0 {
		vals := make([]largeCommunity, 0, len(a.LargeCommunities))
		for _, s := range a.LargeCommunities {
			v, _ := parseLargeCommunity(s)
			vals = append(vals, v)
		}
		slices.SortFunc(vals, func(x, y largeCommunity) int {
			return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]), cmp.Compare(x[2], y[2]))
		})
		vals = slices.Compact(vals)
		words := make([]string, len(vals))
		for i, v := range vals {
			words[i] = strconv.FormatUint(uint64(v[0]), 10) + ":" + strconv.FormatUint(uint64(v[1]), 10) + ":" + strconv.FormatUint(uint64(v[2]), 10)
		}
		at.largeCommunities = strings.Join(words, " ")
	}
	if a.LocalPref != nil {
		at.localPref = strconv.FormatUint(uint64(*a.LocalPref), 10)
	}
	return at
}

func communityString(v uint32) string {
	for name, val := range wellKnownCommunities {
		if val == v {
			return name
		}
	}
	return strconv.FormatUint(uint64(v>>16), 10) + ":" + strconv.FormatUint(uint64(v&0xFFFF), 10)
}

// group is the prefixes of one neighbor that share attributes.
type group struct {
	attrs    attrs
	key      string
	prefixes []netip.Prefix
}

// groupsOf groups a neighbor's advertisements by attributes, in key order,
// each group's prefixes in table order. Attributes are computed once per
// distinct set of raw attributes among the last few seen: advertisements
// mostly repeat a handful of them.
func groupsOf(adv []Advertisement) []*group {
	type cached struct {
		a *Advertisement
		g [2]int32 // group index by family, -1 for none
	}
	var recent []cached
	byKey := map[string]int32{}
	var groups []*group
	member := make([]int32, len(adv))
	var sizes []int
	for i := range adv {
		a := &adv[i]
		f := familyOf(a.Prefix)
		gi := int32(-1)
		for j := range recent {
			if c := &recent[j]; c.g[f] >= 0 && sameAttrs(c.a, a) {
				gi = c.g[f]
				break
			}
		}
		if gi < 0 {
			at := attrsOf(a)
			k := at.key()
			var ok bool
			if gi, ok = byKey[k]; !ok {
				gi = int32(len(groups))
				byKey[k] = gi
				groups = append(groups, &group{attrs: at, key: k})
				sizes = append(sizes, 0)
			}
			c := cached{a: a, g: [2]int32{-1, -1}}
			c.g[f] = gi
			if len(recent) == 16 {
				recent = recent[1:]
			}
			recent = append(recent, c)
		}
		member[i] = gi
		sizes[gi]++
	}
	for gi, g := range groups {
		g.prefixes = make([]netip.Prefix, 0, sizes[gi])
	}
	for i := range adv {
		g := groups[member[i]]
		g.prefixes = append(g.prefixes, adv[i].Prefix)
	}
	slices.SortFunc(groups, func(a, b *group) int { return strings.Compare(a.key, b.key) })
	return groups
}

// sameAttrs reports whether two advertisements carry the same raw attributes.
func sameAttrs(x, y *Advertisement) bool {
	return slices.Equal(x.Communities, y.Communities) &&
		slices.Equal(x.LargeCommunities, y.LargeCommunities) &&
		(x.LocalPref == nil) == (y.LocalPref == nil) && (x.LocalPref == nil || *x.LocalPref == *y.LocalPref)
}

// class is a set of networks of one router that every neighbor treats
// alike: the same neighbors receive them, each with the same attributes.
// Its route-map tags the networks (`set tag`, a local attribute BGP never
// sends), and each receiving neighbor's outbound route-map has one entry
// that matches the tag and sets that neighbor's attributes.
type class struct {
	key     string // VRF, then each member's key, NUL-separated
	members []classMember
	tag     uint32
	name    string // the route-map, classMapPrefix + tag
}

// classMember is one neighbor receiving a class, with its attributes.
type classMember struct {
	outMap string
	attrs  attrs
}

// classMapPrefix starts the name of every class route-map. Neighbors'
// route-maps end in -in or -out, so the names never meet.
const classMapPrefix = "herald-class-"

// classesOf finds the classes of a router's networks and the class of each
// advertised network: classOf[index[prefix]].
func classesOf(r *Router) (classes []*class, index map[netip.Prefix]int32, classOf []*class) {
	nbrs := make([]*Neighbor, len(r.Neighbors))
	for i := range r.Neighbors {
		nbrs[i] = &r.Neighbors[i]
	}
	slices.SortFunc(nbrs, func(a, b *Neighbor) int { return strings.Compare(a.name(), b.name()) })
	// Each (neighbor, attributes) pair is a member; a network's class is
	// the list of its members, in neighbor order. A prefix has at most one
	// member per neighbor, so the lists live in one flat slice.
	var members []classMember
	var memberKeys []string
	index = make(map[netip.Prefix]int32, len(r.IPv4Networks)+len(r.IPv6Networks))
	var prefixes []netip.Prefix
	stride := len(nbrs)
	var ids []int32
	var counts []uint16
	for _, n := range nbrs {
		outMap := neighborOf(r, n).OutMap
		byAttrs := map[string]int32{}
		for _, g := range groupsOf(n.Advertise) {
			k := g.attrs.policyKey()
			id, ok := byAttrs[k]
			if !ok {
				id = int32(len(members))
				byAttrs[k] = id
				members = append(members, classMember{outMap: outMap, attrs: g.attrs})
				memberKeys = append(memberKeys, outMap+"="+k)
			}
			for _, pf := range g.prefixes {
				pi, seen := index[pf]
				if !seen {
					pi = int32(len(prefixes))
					index[pf] = pi
					prefixes = append(prefixes, pf)
					ids = append(ids, make([]int32, stride)...)
					counts = append(counts, 0)
				}
				ids[int(pi)*stride+int(counts[pi])] = id
				counts[pi]++
			}
		}
	}
	byIDs := map[string]*class{}
	classOf = make([]*class, len(prefixes))
	buf := make([]byte, 0, 4*stride)
	for pi := range prefixes {
		buf = buf[:0]
		for _, id := range ids[pi*stride : pi*stride+int(counts[pi])] {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(id))
		}
		cl, ok := byIDs[string(buf)]
		if !ok {
			keys := make([]string, 0, int(counts[pi])+1)
			keys = append(keys, r.VRF)
			cl = &class{}
			for _, id := range ids[pi*stride : pi*stride+int(counts[pi])] {
				keys = append(keys, memberKeys[id])
				cl.members = append(cl.members, members[id])
			}
			cl.key = strings.Join(keys, "\x00")
			byIDs[string(buf)] = cl
			classes = append(classes, cl)
		}
		classOf[pi] = cl
	}
	return classes, index, classOf
}

// policyMaps numbers the classes of all routers, and returns their
// route-maps and every neighbor's outbound route-map.
func policyMaps(routers []*routerPlan, classes []*class) []*routeMap {
	slices.SortFunc(classes, func(a, b *class) int { return strings.Compare(a.key, b.key) })
	tags := assignSeqs(len(classes), func(i int) uint32 { return tagHome(classes[i].key) }, maxTag)
	var maps []*routeMap
	entries := map[string][]*class{} // outMap → classes it receives, in key order
	for i, cl := range classes {
		cl.tag = tags[i]
		cl.name = classMapPrefix + strconv.FormatUint(uint64(cl.tag), 10)
		maps = append(maps, &routeMap{Name: cl.name, Entries: []*rmEntry{{Map: cl.name, Action: "permit", Seq: 1, SetTag: cl.tag}}})
		for _, m := range cl.members {
			entries[m.outMap] = append(entries[m.outMap], cl)
		}
	}
	for _, rp := range routers {
		for _, np := range rp.Neighbors {
			maps = append(maps, outMap(np.OutMap, entries[np.OutMap]))
		}
	}
	return maps
}

// outMap builds a neighbor's outbound route-map: one entry per class it
// receives, then the final deny.
func outMap(name string, classes []*class) *routeMap {
	rm := &routeMap{Name: name}
	seqs := assignSeqs(len(classes), func(i int) uint32 { return routeMapHome(classes[i].key) }, maxRouteMapSeq)
	for i, cl := range classes {
		e := &rmEntry{Map: name, Action: "permit", Seq: seqs[i], MatchTag: cl.tag}
		for _, m := range cl.members {
			if m.outMap == name {
				e.Communities, e.LargeCommunities, e.LocalPref = m.attrs.communities, m.attrs.largeCommunities, m.attrs.localPref
				break
			}
		}
		rm.Entries = append(rm.Entries, e)
	}
	rm.Entries = append(rm.Entries, &rmEntry{Map: name, Action: "deny", Seq: denySeq})
	slices.SortFunc(rm.Entries, func(a, b *rmEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	return rm
}
