package frrconfig

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Diff returns the vtysh configuration-mode commands (to be sent after
// `configure terminal`, in order, context-entering and -leaving lines
// included) that turn FRR running Render(old) into FRR running Render(new).
//
// It handles the changes that happen all the time: prefixes added to or
// removed from a router's networks or a neighbor's advertisements, a
// prefix's communities or local-pref changed, neighbors added or removed,
// BFD profiles added, changed or removed, the log level and the route-map
// delay. For any other
// change it returns an error wrapping ErrNeedsReload. Invalid configs give
// Validate's *ValidationError. Two equal configs give no commands.
//
// New prefixes are announced and removed ones withdrawn as soon as FRR runs
// the commands; a changed community or local-pref of a prefix already
// announced reaches the peers when bgpd re-evaluates its outbound policy,
// Config.RouteMapDelaySeconds later.
//
// The commands only add before they remove: prefix-lists and route-map
// entries are created before the networks and neighbors that use them and
// deleted after, so no prefix is announced without its attributes.
// Diff costs one pass over both configs plus the commands it returns.
func Diff(old, new *Config) ([]string, error) {
	if err := old.Validate(); err != nil {
		return nil, fmt.Errorf("diffing frr configs: old config: %w", err)
	}
	if err := new.Validate(); err != nil {
		return nil, fmt.Errorf("diffing frr configs: new config: %w", err)
	}
	d := &differ{}
	if err := d.run(old, new); err != nil {
		return nil, fmt.Errorf("diffing frr configs: %w", err)
	}
	return d.commands(), nil
}

// differ collects commands in the phases they must run in.
type differ struct {
	log          []string
	bfdAdd       []string
	plAdd        []string
	rmAdd        []string
	routers      []string
	rmRemove     []string
	plRemove     []string
	bfdRemove    []string
	templateErrs []error
}

func (d *differ) commands() []string {
	var out []string
	out = append(out, d.log...)
	if len(d.bfdAdd) > 0 {
		out = append(out, "bfd")
		out = append(out, d.bfdAdd...)
		out = append(out, "exit")
	}
	out = append(out, d.plAdd...)
	out = append(out, d.rmAdd...)
	out = append(out, d.routers...)
	out = append(out, d.rmRemove...)
	out = append(out, d.plRemove...)
	if len(d.bfdRemove) > 0 {
		out = append(out, "bfd")
		out = append(out, d.bfdRemove...)
		out = append(out, "exit")
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// lines executes one of the templates and returns its lines, unindented.
func (d *differ) lines(name string, data any) []string {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		d.templateErrs = append(d.templateErrs, err)
		return nil
	}
	var out []string
	for l := range strings.SplitSeq(b.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func needsReload(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNeedsReload)
}

func (d *differ) run(old, new *Config) error {
	oldLevel, newLevel := buildLogLevel(old), buildLogLevel(new)
	if oldLevel != newLevel {
		d.log = append(d.log, strings.TrimSpace("log stdout "+newLevel))
	}
	if o, n := orDefault(old.RouteMapDelaySeconds, defaultRouteMapDelay), orDefault(new.RouteMapDelaySeconds, defaultRouteMapDelay); o != n {
		d.log = append(d.log, fmt.Sprintf("bgp route-map delay-timer %d", n))
	}
	d.diffBFD(old.BFDProfiles, new.BFDProfiles)
	if len(old.Routers) != len(new.Routers) {
		return needsReload("the number of BGP routers changed from %d to %d", len(old.Routers), len(new.Routers))
	}
	oldRouters := map[string]*Router{}
	for i := range old.Routers {
		oldRouters[old.Routers[i].VRF] = &old.Routers[i]
	}
	newRouters := slices.Clone(new.Routers)
	slices.SortFunc(newRouters, func(a, b Router) int { return strings.Compare(a.VRF, b.VRF) })
	for i := range newRouters {
		newR := &newRouters[i]
		oldR := oldRouters[newR.VRF]
		if oldR == nil {
			return needsReload("a BGP router was added in VRF %q", newR.VRF)
		}
		if oldR.ASN != newR.ASN || oldR.RouterID != newR.RouterID {
			return needsReload("router in VRF %q changed its ASN or router-id", newR.VRF)
		}
		if err := d.diffRouter(oldR, newR); err != nil {
			return err
		}
	}
	if len(d.templateErrs) > 0 {
		return fmt.Errorf("printing commands: %w", d.templateErrs[0])
	}
	return nil
}

func buildLogLevel(c *Config) string { return buildPlan(&Config{LogLevel: c.LogLevel}).LogLevel }

// diffBFD sets every attribute of an added or changed profile to its value
// (a default value is not printed by FRR, so setting it is the same as
// removing it) and removes profiles no longer there.
func (d *differ) diffBFD(old, new []BFDProfile) {
	oldByName := map[string]BFDProfile{}
	for _, p := range old {
		oldByName[p.Name] = p
	}
	newNames := map[string]bool{}
	sorted := slices.Clone(new)
	slices.SortFunc(sorted, func(a, b BFDProfile) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range sorted {
		newNames[p.Name] = true
		if o, ok := oldByName[p.Name]; ok && o == p {
			continue
		}
		onOff := func(on bool, word string) string {
			if on {
				return word
			}
			return "no " + word
		}
		echo := orDefault(p.EchoInterval, defaultEchoInterv)
		d.bfdAdd = append(d.bfdAdd,
			"profile "+p.Name,
			fmt.Sprintf("detect-multiplier %d", orDefault(p.DetectMultiplier, defaultMultiplier)),
			fmt.Sprintf("transmit-interval %d", orDefault(p.TransmitInterval, defaultInterval)),
			fmt.Sprintf("receive-interval %d", orDefault(p.ReceiveInterval, defaultInterval)),
			onOff(p.PassiveMode, "passive-mode"),
			onOff(p.EchoMode, "echo-mode"),
			fmt.Sprintf("echo transmit-interval %d", echo),
			fmt.Sprintf("echo receive-interval %d", echo),
			fmt.Sprintf("minimum-ttl %d", orDefault(p.MinimumTTL, defaultMinimumTTL)),
			"exit")
	}
	var gone []string
	for _, p := range old {
		if !newNames[p.Name] {
			gone = append(gone, p.Name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		d.bfdRemove = append(d.bfdRemove, "no profile "+name)
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// routerCommands collects the commands inside one `router bgp`.
type routerCommands struct {
	top      []string
	af       [2][]string
	afRemove [2][]string
}

func (d *differ) diffRouter(oldR, newR *Router) error {
	var rc routerCommands
	for f, nets := range [2][2][]netip.Prefix{{oldR.IPv4Networks, newR.IPv4Networks}, {oldR.IPv6Networks, newR.IPv6Networks}} {
		added, removed := prefixDelta(nets[0], nets[1])
		for _, p := range added {
			rc.af[f] = append(rc.af[f], "network "+p.String())
		}
		for _, p := range removed {
			rc.afRemove[f] = append(rc.afRemove[f], "no network "+p.String())
		}
	}
	oldNbrs := map[string]*Neighbor{}
	for i := range oldR.Neighbors {
		oldNbrs[oldR.Neighbors[i].name()] = &oldR.Neighbors[i]
	}
	newNames := map[string]bool{}
	var added []*neighborPlan
	newNbrs := slices.Clone(newR.Neighbors)
	slices.SortFunc(newNbrs, func(a, b Neighbor) int { return strings.Compare(a.name(), b.name()) })
	for i := range newNbrs {
		nn := &newNbrs[i]
		newNames[nn.name()] = true
		np := neighborOf(newR, nn)
		on := oldNbrs[nn.name()]
		if on == nil {
			added = append(added, np)
			rm, pls := outboundPolicy(np.OutMap, nn.Advertise)
			for _, pl := range pls {
				d.addPrefixList(pl)
			}
			d.rmAdd = append(d.rmAdd, d.lines("routeMapEntry", &rmEntry{Map: np.InMap, Action: "deny", Seq: 1})...)
			for _, e := range rm.Entries {
				d.rmAdd = append(d.rmAdd, d.lines("routeMapEntry", e)...)
			}
			continue
		}
		op := neighborOf(oldR, on)
		if !sameSession(op, np) {
			return needsReload("neighbor %s in VRF %q changed its session settings", np.Name, newR.VRF)
		}
		if op.Families != np.Families {
			return needsReload("neighbor %s in VRF %q changed its address families", np.Name, newR.VRF)
		}
		if err := d.diffPolicy(np.OutMap, on.Advertise, nn.Advertise); err != nil {
			return fmt.Errorf("neighbor %s in VRF %q: %w", np.Name, newR.VRF, err)
		}
	}
	var removed []*neighborPlan
	for i := range oldR.Neighbors {
		if on := &oldR.Neighbors[i]; !newNames[on.name()] {
			removed = append(removed, neighborOf(oldR, on))
		}
	}
	slices.SortFunc(removed, compareNeighbors)
	slices.SortFunc(added, compareNeighbors)
	for _, op := range removed {
		if op.Interface {
			rc.top = append(rc.top, "no neighbor "+op.Name+" interface")
		} else {
			rc.top = append(rc.top, "no neighbor "+op.Name)
		}
		d.rmRemove = append(d.rmRemove, "no route-map "+op.InMap, "no route-map "+op.OutMap)
		_, pls := outboundPolicy(op.OutMap, oldNbrs[op.Name].Advertise)
		for _, pl := range pls {
			d.plRemove = append(d.plRemove, "no "+pl.Family.Keyword()+" prefix-list "+pl.Name)
		}
	}
	for _, np := range added {
		rc.top = append(rc.top, d.lines("neighbor", np)...)
		for f := range 2 {
			if np.Families[f] {
				rc.af[f] = append(rc.af[f], d.lines("afNeighbor", np)...)
			}
		}
	}
	if len(rc.top)+len(rc.af[0])+len(rc.af[1])+len(rc.afRemove[0])+len(rc.afRemove[1]) == 0 {
		return nil
	}
	header := fmt.Sprintf("router bgp %d", newR.ASN)
	if newR.VRF != "" {
		header += " vrf " + newR.VRF
	}
	d.routers = append(d.routers, header)
	d.routers = append(d.routers, rc.top...)
	for f := range 2 {
		if len(rc.af[f])+len(rc.afRemove[f]) == 0 {
			continue
		}
		d.routers = append(d.routers, "address-family "+family(f).Name())
		d.routers = append(d.routers, rc.af[f]...)
		d.routers = append(d.routers, rc.afRemove[f]...)
		d.routers = append(d.routers, "exit-address-family")
	}
	d.routers = append(d.routers, "exit")
	return nil
}

// sameSession reports whether two neighbors have the same session settings.
func sameSession(a, b *neighborPlan) bool {
	ta, tb := Timers{}, Timers{}
	if a.Timers != nil {
		ta = *a.Timers
	}
	if b.Timers != nil {
		tb = *b.Timers
	}
	return a.Name == b.Name && a.Interface == b.Interface && a.RemoteAS == b.RemoteAS &&
		a.BFD == b.BFD && a.BFDProfile == b.BFDProfile && a.Password == b.Password &&
		a.Port == b.Port && a.EBGPMultihop == b.EBGPMultihop && a.UpdateSource == b.UpdateSource &&
		(a.Timers == nil) == (b.Timers == nil) && ta == tb && a.ConnectTime == b.ConnectTime &&
		a.GracefulRestart == b.GracefulRestart
}

// prefixDelta returns the prefixes only in new and only in old, sorted.
func prefixDelta(old, new []netip.Prefix) (added, removed []netip.Prefix) {
	if slices.Equal(old, new) {
		return nil, nil
	}
	if !slices.IsSortedFunc(old, comparePrefixes) {
		old = slices.Clone(old)
		slices.SortFunc(old, comparePrefixes)
	}
	if !slices.IsSortedFunc(new, comparePrefixes) {
		new = slices.Clone(new)
		slices.SortFunc(new, comparePrefixes)
	}
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && comparePrefixes(old[i], new[j]) < 0):
			removed = append(removed, old[i])
			i++
		case i == len(old) || comparePrefixes(new[j], old[i]) < 0:
			added = append(added, new[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}

func (d *differ) addPrefixList(pl *prefixList) {
	d.plAdd = append(d.plAdd, d.lines("prefixList", pl)...)
}

func sameAdvertisements(a, b []Advertisement) bool {
	return slices.EqualFunc(a, b, func(x, y Advertisement) bool {
		return x.Prefix == y.Prefix && sameAttrs(&x, &y)
	})
}

// diffPolicy changes a neighbor's outbound route-map and prefix-lists.
func (d *differ) diffPolicy(outMap string, oldAdv, newAdv []Advertisement) error {
	if sameAdvertisements(oldAdv, newAdv) {
		return nil
	}
	type numbered struct {
		g   *group
		seq uint32
	}
	index := func(adv []Advertisement) (map[string]numbered, map[uint32]string) {
		groups := groupsOf(adv)
		seqs := groupSeqs(groups)
		byKey := make(map[string]numbered, len(groups))
		bySeq := make(map[uint32]string, len(groups))
		for i, g := range groups {
			byKey[g.key] = numbered{g, seqs[i]}
			bySeq[seqs[i]] = g.key
		}
		return byKey, bySeq
	}
	oldGroups, oldSeqs := index(oldAdv)
	newGroups, _ := index(newAdv)
	keys := make([]string, 0, len(oldGroups)+len(newGroups))
	for k := range oldGroups {
		keys = append(keys, k)
	}
	for k := range newGroups {
		if _, ok := oldGroups[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		o, inOld := oldGroups[k]
		n, inNew := newGroups[k]
		if inNew && (!inOld || o.seq != n.seq) {
			if other, used := oldSeqs[n.seq]; used && other != k {
				return needsReload("route-map %s reuses seq %d for other attributes", outMap, n.seq)
			}
		}
		switch {
		case inOld && inNew && o.seq == n.seq:
			if !slices.Equal(o.g.prefixes, n.g.prefixes) {
				d.diffPrefixList(familyOf(n.g.prefixes[0]), prefixListName(outMap, n.seq), numberPrefixes(o.g), numberPrefixes(n.g))
			}
			continue
		case inOld:
			pl := prefixListOf(prefixListName(outMap, o.seq), o.g)
			d.rmRemove = append(d.rmRemove, fmt.Sprintf("no route-map %s permit %d", outMap, o.seq))
			d.plRemove = append(d.plRemove, "no "+pl.Family.Keyword()+" prefix-list "+pl.Name)
		}
		if inNew {
			e := groupEntry(outMap, n.seq, n.g)
			d.addPrefixList(prefixListOf(e.PrefixList, n.g))
			d.rmAdd = append(d.rmAdd, d.lines("routeMapEntry", e)...)
		}
	}
	return nil
}

// diffPrefixList changes one prefix-list's entries, walking both lists in
// seq order. An entry whose seq a new entry takes over is removed just
// before the new one is added (FRR keys entries by seq); the others are
// removed after the routers changed.
func (d *differ) diffPrefixList(f family, name string, old, new []seqPrefix) {
	removeLine := func(e seqPrefix) string {
		return fmt.Sprintf("no %s prefix-list %s seq %d permit %s", f.Keyword(), name, e.seq, e.prefix)
	}
	add := func(e seqPrefix) {
		one := &prefixList{Family: f, Keyword: f.Keyword(), Name: name, Entries: []plEntry{{Seq: e.seq, Prefix: e.prefix.String()}}}
		d.plAdd = append(d.plAdd, d.lines("prefixList", one)...)
	}
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && old[i].seq < new[j].seq):
			d.plRemove = append(d.plRemove, removeLine(old[i]))
			i++
		case i == len(old) || new[j].seq < old[i].seq:
			add(new[j])
			j++
		default:
			if old[i].prefix != new[j].prefix {
				d.plAdd = append(d.plAdd, removeLine(old[i]))
				add(new[j])
			}
			i++
			j++
		}
	}
}
