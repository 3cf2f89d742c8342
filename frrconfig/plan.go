package frrconfig

import (
	"cmp"
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
	PrefixLists   []*prefixList // IPv4 lists then IPv6 lists, each by name
	RouteMaps     []*routeMap   // by name
	BFDProfiles   []*bfdPlan    // by name
}

type routerPlan struct {
	ASN       uint32
	VRF       string
	RouterID  string
	Neighbors []*neighborPlan // in FRR's order: interfaces, IPv4, IPv6
	AFs       []*afPlan       // ipv4 unicast, ipv6 unicast; only those with lines
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
	Networks  []string        // in table order
	Neighbors []*neighborPlan // activated in this family
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

// Keyword is the family's word in prefix-list and match commands.
func (f family) Keyword() string {
	if f == ipv4 {
		return "ip"
	}
	return "ipv6"
}

func familyOf(p netip.Prefix) family {
	if p.Addr().Is4() {
		return ipv4
	}
	return ipv6
}

type prefixList struct {
	Family  family
	Keyword string // Family.Keyword()
	Name    string
	Entries []plEntry // by seq
}

type plEntry struct {
	Seq    uint32
	Prefix string
}

type routeMap struct {
	Name    string
	Entries []*rmEntry // by seq
}

type rmEntry struct {
	Map              string
	Action           string // permit or deny
	Seq              uint32
	Family           family
	PrefixList       string // empty: no match line
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
	var lists4, lists6 []*prefixList
	for i := range c.Routers {
		r := &c.Routers[i]
		rp := &routerPlan{ASN: r.ASN, VRF: r.VRF}
		if r.RouterID.IsValid() {
			rp.RouterID = r.RouterID.String()
		}
		for j := range r.Neighbors {
			n := &r.Neighbors[j]
			np := neighborOf(r, n)
			rp.Neighbors = append(rp.Neighbors, np)
			p.RouteMaps = append(p.RouteMaps, &routeMap{Name: np.InMap, Entries: []*rmEntry{{Map: np.InMap, Action: "deny", Seq: 1}}})
			rm, pls := outboundPolicy(np.OutMap, n.Advertise)
			p.RouteMaps = append(p.RouteMaps, rm)
			for _, pl := range pls {
				if pl.Family == ipv4 {
					lists4 = append(lists4, pl)
				} else {
					lists6 = append(lists6, pl)
				}
			}
		}
		slices.SortFunc(rp.Neighbors, compareNeighbors)
		for _, f := range []family{ipv4, ipv6} {
			nets := r.IPv4Networks
			if f == ipv6 {
				nets = r.IPv6Networks
			}
			if !slices.IsSortedFunc(nets, comparePrefixes) {
				nets = slices.Clone(nets)
				slices.SortFunc(nets, comparePrefixes)
			}
			af := &afPlan{Family: f, Networks: make([]string, len(nets))}
			for i, p := range nets {
				af.Networks[i] = p.String()
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
	slices.SortFunc(p.Routers, func(a, b *routerPlan) int { return strings.Compare(a.VRF, b.VRF) })
	byName := func(a, b *prefixList) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(lists4, byName)
	slices.SortFunc(lists6, byName)
	p.PrefixLists = append(lists4, lists6...)
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
	switch {
	case np.Interface:
		np.Families = [2]bool{true, true}
	case n.Address.Is4():
		np.Families[ipv4] = true
	default:
		np.Families[ipv6] = true
	}
	for _, a := range n.Advertise {
		np.Families[familyOf(a.Prefix)] = true
	}
	return np
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
	return strconv.Itoa(int(a.family)) + "|" + a.communities + "|" + a.largeCommunities + "|" + a.localPref
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
	for _, g := range groups {
		if !slices.IsSortedFunc(g.prefixes, comparePrefixes) {
			slices.SortFunc(g.prefixes, comparePrefixes)
		}
	}
	return groups
}

// sameAttrs reports whether two advertisements carry the same raw attributes.
func sameAttrs(x, y *Advertisement) bool {
	return slices.Equal(x.Communities, y.Communities) &&
		slices.Equal(x.LargeCommunities, y.LargeCommunities) &&
		(x.LocalPref == nil) == (y.LocalPref == nil) && (x.LocalPref == nil || *x.LocalPref == *y.LocalPref)
}

// groupSeqs numbers a neighbor's groups in its outbound route-map.
func groupSeqs(groups []*group) []uint32 {
	return assignSeqs(len(groups), func(i int) uint32 { return routeMapHome(groups[i].key) }, maxRouteMapSeq)
}

// prefixSeqs numbers the entries of one prefix-list.
func prefixSeqs(prefixes []netip.Prefix) []uint32 {
	return assignSeqs(len(prefixes), func(i int) uint32 { return prefixHome(prefixes[i]) }, maxPrefixSeq)
}

func prefixListName(outMap string, seq uint32) string {
	return outMap + "-" + strconv.FormatUint(uint64(seq), 10)
}

// outboundPolicy builds a neighbor's outbound route-map and its prefix-lists.
func outboundPolicy(outMap string, adv []Advertisement) (*routeMap, []*prefixList) {
	groups := groupsOf(adv)
	seqs := groupSeqs(groups)
	rm := &routeMap{Name: outMap}
	var lists []*prefixList
	for i, g := range groups {
		e := groupEntry(outMap, seqs[i], g)
		rm.Entries = append(rm.Entries, e)
		lists = append(lists, prefixListOf(e.PrefixList, g))
	}
	rm.Entries = append(rm.Entries, &rmEntry{Map: outMap, Action: "deny", Seq: denySeq})
	slices.SortFunc(rm.Entries, func(a, b *rmEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	return rm, lists
}

func groupEntry(outMap string, seq uint32, g *group) *rmEntry {
	return &rmEntry{
		Map:              outMap,
		Action:           "permit",
		Seq:              seq,
		Family:           g.attrs.family,
		PrefixList:       prefixListName(outMap, seq),
		Communities:      g.attrs.communities,
		LargeCommunities: g.attrs.largeCommunities,
		LocalPref:        g.attrs.localPref,
	}
}

// seqPrefix is a prefix-list entry before printing.
type seqPrefix struct {
	seq    uint32
	prefix netip.Prefix
}

// numberPrefixes returns a group's prefixes with their seqs, by seq.
func numberPrefixes(g *group) []seqPrefix {
	seqs := prefixSeqs(g.prefixes)
	out := make([]seqPrefix, len(g.prefixes))
	for i, p := range g.prefixes {
		out[i] = seqPrefix{seq: seqs[i], prefix: p}
	}
	if !slices.IsSortedFunc(out, func(a, b seqPrefix) int { return cmp.Compare(a.seq, b.seq) }) {
		slices.SortFunc(out, func(a, b seqPrefix) int { return cmp.Compare(a.seq, b.seq) })
	}
	return out
}

func prefixListOf(name string, g *group) *prefixList {
	f := g.attrs.family
	pl := &prefixList{Family: f, Keyword: f.Keyword(), Name: name}
	for _, e := range numberPrefixes(g) {
		pl.Entries = append(pl.Entries, plEntry{Seq: e.seq, Prefix: e.prefix.String()})
	}
	return pl
}
