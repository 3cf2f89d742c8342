package frrconfig

import (
	"bytes"
	"fmt"
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
// a neighbor's BFD turned on or off or given another profile, a neighbor's
// address families, a router's graceful shutdown, BFD profiles added, changed or removed, the log level
// and the route-map delay. For any other
// change it returns an error wrapping ErrNeedsReload. Invalid configs give
// Validate's *ValidationError. Two equal configs give no commands.
//
// New prefixes are announced and removed ones withdrawn as soon as FRR runs
// the commands; a changed community or local-pref of a prefix already
// announced reaches the peers when bgpd re-evaluates its outbound policy,
// Config.RouteMapDelaySeconds later.
//
// The commands only add before they remove: route-map entries are created
// before the networks and neighbors that use them and deleted after, so no
// prefix is announced without its attributes. Adding or removing a prefix
// whose neighbors and attributes match those of another prefix (its class,
// see the package documentation) is a single `network` command; a changed
// community moves the prefix to another class with one `network` command.
// Diff costs one pass over both configs plus the commands it returns.
func Diff(old, new *Config) ([]string, error) {
	if err := old.Validate(); err != nil {
		return nil, fmt.Errorf("diffing frr configs: old config: %w", err)
	}
	if err := new.Validate(); err != nil {
		return nil, fmt.Errorf("diffing frr configs: new config: %w", err)
	}
	return DiffPlans(&Plan{cfg: old, p: buildPlan(old)}, &Plan{cfg: new, p: buildPlan(new)})
}

// DiffPlans is Diff for two configs already planned by NewPlan.
func DiffPlans(old, new *Plan) ([]string, error) {
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
	rmAdd        []string
	routers      []string
	rmRemove     []string
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
	out = append(out, d.rmAdd...)
	out = append(out, d.routers...)
	out = append(out, d.rmRemove...)
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

func (d *differ) run(oldPlan, newPlan *Plan) error {
	old, new := oldPlan.cfg, newPlan.cfg
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
	for i := range new.Routers {
		newR := &new.Routers[i]
		oldR := oldRouters[newR.VRF]
		if oldR == nil {
			return needsReload("a BGP router was added in VRF %q", newR.VRF)
		}
		if oldR.ASN != newR.ASN || oldR.RouterID != newR.RouterID {
			return needsReload("router in VRF %q changed its ASN or router-id", newR.VRF)
		}
	}
	op, np := oldPlan.p, newPlan.p
	oldPlans := map[string]*routerPlan{}
	for _, rp := range op.Routers {
		oldPlans[rp.VRF] = rp
	}
	for _, rp := range np.Routers { // by VRF
		if err := d.diffRouter(oldPlans[rp.VRF], rp); err != nil {
			return err
		}
	}
	d.diffRouteMaps(op.RouteMaps, np.RouteMaps)
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

// diffRouter changes one router's neighbors and networks. Neighbors'
// route-maps are diffed with all the others by diffRouteMaps.
func (d *differ) diffRouter(oldR, newR *routerPlan) error {
	var rc routerCommands
	switch {
	case newR.GracefulShutdown && !oldR.GracefulShutdown:
		rc.top = append(rc.top, "bgp graceful-shutdown")
	case oldR.GracefulShutdown && !newR.GracefulShutdown:
		rc.top = append(rc.top, "no bgp graceful-shutdown")
	}
	for f := range 2 {
		d.diffNetworks(&rc, family(f), networksOf(oldR, family(f)), networksOf(newR, family(f)))
	}
	oldNbrs := map[string]*neighborPlan{}
	for _, n := range oldR.Neighbors {
		oldNbrs[n.Name] = n
	}
	newNames := map[string]bool{}
	var added []*neighborPlan
	for _, nn := range newR.Neighbors {
		newNames[nn.Name] = true
		on := oldNbrs[nn.Name]
		if on == nil {
			added = append(added, nn)
			continue
		}
		if !sameSession(on, nn) {
			return needsReload("neighbor %s in VRF %q changed its session settings", nn.Name, newR.VRF)
		}
		rc.top = append(rc.top, bfdCommands(on, nn)...)
		// A family added or removed is applied in place; FRR resets this
		// session alone (SessionResets names it), not every session as
		// a reload of the file would.
		for f := range 2 {
			switch {
			case nn.Families[f] && !on.Families[f]:
				rc.af[f] = append(rc.af[f], d.lines("afNeighbor", nn)...)
			case on.Families[f] && !nn.Families[f]:
				// FRR keeps a deactivated neighbor's route-maps: drop them first.
				rc.afRemove[f] = append(rc.afRemove[f],
					"no neighbor "+on.Name+" route-map "+on.InMap+" in",
					"no neighbor "+on.Name+" route-map "+on.OutMap+" out",
					"no neighbor "+on.Name+" activate")
			}
		}
	}
	for _, on := range oldR.Neighbors { // in FRR's order
		if newNames[on.Name] {
			continue
		}
		if on.Interface {
			rc.top = append(rc.top, "no neighbor "+on.Name+" interface")
		} else {
			rc.top = append(rc.top, "no neighbor "+on.Name)
		}
	}
	for _, nn := range added {
		rc.top = append(rc.top, d.lines("neighbor", nn)...)
		for f := range 2 {
			if nn.Families[f] {
				rc.af[f] = append(rc.af[f], d.lines("afNeighbor", nn)...)
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

// networksOf returns a router's networks of one family, in table order.
func networksOf(r *routerPlan, f family) []network {
	for _, af := range r.AFs {
		if af.Family == f {
			return af.Networks
		}
	}
	return nil
}

// diffNetworks adds the new networks, points the networks that changed
// class at their new route-map (FRR updates a network in place when it is
// given again with another route-map) and removes the networks gone.
func (d *differ) diffNetworks(rc *routerCommands, f family, old, new []network) {
	line := func(n network) string {
		if n.RouteMap == "" {
			return "network " + n.pfx.String()
		}
		return "network " + n.pfx.String() + " route-map " + n.RouteMap
	}
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && comparePrefixes(old[i].pfx, new[j].pfx) < 0):
			rc.afRemove[f] = append(rc.afRemove[f], "no network "+old[i].pfx.String())
			i++
		case i == len(old) || comparePrefixes(new[j].pfx, old[i].pfx) < 0:
			rc.af[f] = append(rc.af[f], line(new[j]))
			j++
		default:
			if old[i].RouteMap != new[j].RouteMap {
				rc.af[f] = append(rc.af[f], line(new[j]))
			}
			i++
			j++
		}
	}
}

// bfdCommands turn a neighbor's BFD settings from old's into new's. FRR's
// `no neighbor X bfd` drops the profile too. (frr-reload.py fails to remove
// `neighbor X bfd` next to a profile, so this is not left to a reload.)
func bfdCommands(old, new *neighborPlan) []string {
	if old.BFD == new.BFD && old.BFDProfile == new.BFDProfile {
		return nil
	}
	var out []string
	if old.BFD {
		out = append(out, "no neighbor "+old.Name+" bfd")
	}
	if new.BFD {
		out = append(out, "neighbor "+new.Name+" bfd")
		if new.BFDProfile != "" {
			out = append(out, "neighbor "+new.Name+" bfd profile "+new.BFDProfile)
		}
	}
	return out
}

// sameSession reports whether two neighbors have the same session settings
// other than BFD.
func sameSession(a, b *neighborPlan) bool {
	ta, tb := Timers{}, Timers{}
	if a.Timers != nil {
		ta = *a.Timers
	}
	if b.Timers != nil {
		tb = *b.Timers
	}
	return a.Name == b.Name && a.Interface == b.Interface && a.RemoteAS == b.RemoteAS &&
		a.Password == b.Password &&
		a.Port == b.Port && a.EBGPMultihop == b.EBGPMultihop && a.UpdateSource == b.UpdateSource &&
		(a.Timers == nil) == (b.Timers == nil) && ta == tb && a.ConnectTime == b.ConnectTime &&
		a.GracefulRestart == b.GracefulRestart
}

// diffRouteMaps adds route-maps and entries that are new, replaces entries
// that changed (FRR applies route-map changes after the route-map delay,
// so the replaced entry is never seen missing) and removes what is gone:
// whole route-maps when no entry is left, else single entries.
func (d *differ) diffRouteMaps(old, new []*routeMap) {
	oldByName := make(map[string]*routeMap, len(old))
	for _, m := range old {
		oldByName[m.Name] = m
	}
	newNames := make(map[string]bool, len(new))
	for _, m := range new {
		newNames[m.Name] = true
		om := oldByName[m.Name]
		var oldEntries map[uint32]*rmEntry
		if om != nil {
			oldEntries = make(map[uint32]*rmEntry, len(om.Entries))
			for _, e := range om.Entries {
				oldEntries[e.Seq] = e
			}
		}
		kept := make(map[uint32]bool, len(m.Entries))
		for _, e := range m.Entries {
			kept[e.Seq] = true
			oe := oldEntries[e.Seq]
			if oe != nil && *oe == *e {
				continue
			}
			if oe != nil {
				d.rmAdd = append(d.rmAdd, fmt.Sprintf("no route-map %s %s %d", oe.Map, oe.Action, oe.Seq))
			}
			d.rmAdd = append(d.rmAdd, d.lines("routeMapEntry", e)...)
		}
		if om == nil {
			continue
		}
		for _, oe := range om.Entries {
			if !kept[oe.Seq] {
				d.rmRemove = append(d.rmRemove, fmt.Sprintf("no route-map %s %s %d", oe.Map, oe.Action, oe.Seq))
			}
		}
	}
	for _, m := range old {
		if !newNames[m.Name] {
			d.rmRemove = append(d.rmRemove, "no route-map "+m.Name)
		}
	}
}
