package ipam

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Allocate gives the Service its addresses and returns them, primary family
// first. The order of preference is:
//  1. the addresses it already holds, when still valid (in a pool it may
//     use, of a family it wants, matching its request and sharing rules);
//     a missing family is added from the same pool;
//  2. RequestedIPs, each inside a pool the Service may use (the annotated
//     pool when Pool is set), and free or shareable;
//  3. the pool named by Pool;
//  4. autoAssign pools whose serviceAllocation admits the Service, by
//     priority (lower first, 0 last) then name;
//  5. the other autoAssign pools, by name.
//
// With a SharingKey, an address already used with that key (and compatible)
// is preferred in each pool, lowest address first. Dual-stack addresses
// come from one pool: RequireDualStack needs a pool with both families;
// PreferDualStack takes the first pool with both, else one family (primary
// first). Requested addresses are the whole assignment (a PreferDualStack
// Service requesting one address gets that one only) and may come from
// different pools.
//
// On error (an *Error) nothing changes: the Service keeps what it held.
func (a *Allocator) Allocate(svc Service) ([]netip.Addr, error) {
	return a.AllocateTo(nil, &svc)
}

// AllocateTo is Allocate appending the addresses to dst and returning the
// extended slice (dst on error): with a dst of capacity 2 it allocates no
// memory, for callers that keep no copy. It only reads *svc.
func (a *Allocator) AllocateTo(dst []netip.Addr, svc *Service) ([]netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if svc.Key == "" {
		return dst, newError(InvalidRequest, "the Service has no key")
	}
	fams, all, err := wanted(svc)
	if err != nil {
		return dst, err
	}
	info := sharingOf(svc)
	e := a.services[svc.Key]
	var ips pair
	var perr *Error
	if len(svc.RequestedIPs) > 0 {
		perr = a.requested(svc, info, e, fams, all, &ips)
	} else {
		perr = a.automatic(svc, info, e, fams, all, &ips)
	}
	if perr != nil {
		return dst, perr
	}
	if e == nil {
		e = a.newSvcEntry(svc.Key)
		a.services[svc.Key] = e
	}
	a.commit(e, info, &ips)
	return append(dst, ips.list()...), nil
}

// familyLists are the family lists wanted returns, primary first; never
// modified.
var familyLists = [2][]Family{{IPv4, IPv6}, {IPv6, IPv4}}

// wanted returns the families the Service wants, primary first, and whether
// it needs all of them.
func wanted(svc *Service) ([]Family, bool, *Error) {
	fams := svc.IPFamilies // never modified: only re-sliced or replaced
	for i, f := range fams {
		if f != IPv4 && f != IPv6 {
			return nil, false, newError(InvalidRequest, fmt.Sprintf("ipFamilies[%d] is %q: use IPv4 or IPv6", i, f))
		}
		if i > 0 && fams[0] == f {
			return nil, false, newError(InvalidRequest, fmt.Sprintf("ipFamilies lists %s twice: list each family once", f))
		}
	}
	if len(fams) == 0 {
		fams = nil
		for _, ip := range svc.RequestedIPs {
			if f := FamilyOf(ip.Unmap()); ip.IsValid() && !slices.Contains(fams, f) {
				fams = append(fams, f)
			}
		}
	}
	if len(fams) == 0 {
		fams = familyLists[0]
	}
	both := familyLists[famIdxOf(fams[0])]
	switch svc.IPFamilyPolicy {
	case "", SingleStack:
		return fams[:1], true, nil
	case PreferDualStack:
		return both, false, nil
	case RequireDualStack:
		return both, true, nil
	}
	return nil, false, newError(InvalidRequest, fmt.Sprintf("ipFamilyPolicy %q is unknown: use SingleStack, PreferDualStack or RequireDualStack", svc.IPFamilyPolicy))
}

// requested checks the requested addresses.
func (a *Allocator) requested(svc *Service, info sharing, e *svcEntry, fams []Family, all bool, out *pair) *Error {
	var byFam [2]netip.Addr
	for _, ip := range svc.RequestedIPs {
		ip = ip.Unmap()
		if !ip.IsValid() {
			return newError(InvalidRequest, "a requested address is empty: remove it from spec.loadBalancerIP or the loadBalancerIPs annotation")
		}
		fi := famIdx(ip)
		if byFam[fi].IsValid() {
			return newError(InvalidRequest, fmt.Sprintf("two %s addresses are requested (%s and %s): request at most one address per family", FamilyOf(ip), byFam[fi], ip))
		}
		if !slices.Contains(fams, FamilyOf(ip)) {
			return newError(InvalidRequest, fmt.Sprintf("%s address %s is requested but the Service's ipFamilyPolicy/ipFamilies give it only %s: request an address of that family, or change ipFamilyPolicy", FamilyOf(ip), ip, joinFams(fams)))
		}
		byFam[fi] = ip
	}
	for _, f := range fams {
		if ip := byFam[famIdxOf(f)]; ip.IsValid() {
			out.add(ip, nil, false)
		}
	}
	if all && out.n < len(fams) {
		return newError(InvalidRequest, fmt.Sprintf("the Service is RequireDualStack but requests only %s: request one address per family, or use PreferDualStack", out.ip[0]))
	}
	var pin *poolState
	if svc.Pool != "" {
		if pin = a.pools[svc.Pool]; pin == nil {
			return missingPool(svc.Pool)
		}
	}
	for i, ip := range out.list() {
		p := a.index.lookup(ip)
		out.pool[i] = p
		switch {
		case p == nil:
			return newError(RequestedIPUnavailable, fmt.Sprintf("requested address %s is not in any pool: add it to an IPAddressPool, or request an address of a pool", ip))
		case pin != nil && p != pin:
			return newError(RequestedIPUnavailable, fmt.Sprintf("requested address %s is in pool %q, not in pool %q named by the address-pool annotation: request an address of %q, or change the annotation", ip, p.spec.Name, pin.spec.Name, pin.spec.Name))
		case !mayUse(p, svc):
			return newError(RequestedIPUnavailable, fmt.Sprintf("requested address %s is in pool %q, whose serviceAllocation does not admit this Service (namespace %q): request an address of another pool, or change the pool's serviceAllocation", ip, p.spec.Name, svc.Namespace))
		case p.fam[famIdx(ip)].isAnycast(ip) && (e == nil || !slices.Contains(e.ips, ip)):
			return newError(RequestedIPUnavailable, fmt.Sprintf("requested address %s is the subnet-router anycast address of %s in pool %q, which the subnet's routers answer (RFC 4291 2.6.1): request another address", ip, anycastPrefix(p, ip), p.spec.Name))
		}
		if err := a.shareable(ip, info, e); err != nil {
			return err
		}
	}
	return nil
}

// automatic keeps valid addresses the Service holds, or picks new ones.
func (a *Allocator) automatic(svc *Service, info sharing, e *svcEntry, fams []Family, all bool, res *pair) *Error {
	var pin *poolState
	if svc.Pool != "" {
		if pin = a.pools[svc.Pool]; pin == nil {
			return missingPool(svc.Pool)
		}
	}
	allowed := func(p *poolState) bool { return p != nil && (pin == nil || p == pin) && mayUse(p, svc) }

	// 1. Keep what is still valid, completing it from the same pool.
	if e != nil {
		var kept [2]netip.Addr
		var keptPool *poolState
		for _, ip := range e.ips {
			p := a.index.lookup(ip)
			if !slices.Contains(fams, FamilyOf(ip)) || !allowed(p) || a.shareable(ip, info, e) != nil {
				continue
			}
			kept[famIdx(ip)] = ip
			if keptPool == nil {
				keptPool = p
			}
		}
		if keptPool != nil {
			var out pair
			ok := true
			for _, f := range fams {
				fi := famIdxOf(f)
				if kept[fi].IsValid() {
					out.add(kept[fi], keptPool, false)
					continue
				}
				ip, isNew, got := a.pick(keptPool, fi, info, e)
				switch {
				case got:
					out.add(ip, keptPool, isNew)
				case all:
					ok = false
				}
			}
			if ok {
				*res = out
				return nil
			}
			a.untake(keptPool, &out)
		}
	}

	// 2. Pick anew, in pool order.
	var candBuf [8]*poolState
	cands := candBuf[:0]
	if pin != nil {
		if !mayUse(pin, svc) {
			return newError(NoMatchingPool, fmt.Sprintf("pool %q named by the address-pool annotation does not admit this Service (its serviceAllocation does not match namespace %q or the Service's labels): name another pool, or change the pool's serviceAllocation", pin.spec.Name, svc.Namespace))
		}
		cands = append(cands, pin)
	} else {
		for _, p := range a.auto {
			if mayUse(p, svc) {
				cands = append(cands, p)
			}
		}
		if len(cands) == 0 {
			return newError(NoMatchingPool, fmt.Sprintf("no IPAddressPool with autoAssign admits this Service (namespace %q): create one, widen a pool's serviceAllocation, or name a pool with the address-pool annotation", svc.Namespace))
		}
	}
	for _, p := range cands {
		if p.hasAll(fams) && a.tryPool(p, fams, info, e, res) {
			return nil
		}
	}
	if !all {
		for _, f := range fams {
			one := familyLists[famIdxOf(f)][:1]
			for _, p := range cands {
				if p.hasAll(one) && a.tryPool(p, one, info, e, res) {
					return nil
				}
			}
		}
	}
	// Failed: the pools that had the families were exhausted, if any.
	var matching []string
	for _, p := range cands {
		if p.hasAll(fams) {
			matching = append(matching, p.spec.Name)
		}
	}
	if !all {
		for _, f := range fams {
			for _, p := range cands {
				if p.has(famIdxOf(f)) {
					matching = append(matching, p.spec.Name)
				}
			}
		}
	}
	switch {
	case len(matching) > 0:
		slices.Sort(matching)
		return newError(PoolExhausted, fmt.Sprintf("every usable %s address of pool(s) %s is assigned: add addresses to a pool, or delete Services that no longer need one", joinFams(fams), strings.Join(slices.Compact(matching), ", ")))
	case len(fams) == 2 && all:
		return newError(NoMatchingPool, "the Service is RequireDualStack but no single pool it may use has both IPv4 and IPv6 addresses: add both families to one pool, or use PreferDualStack")
	default:
		return newError(NoMatchingPool, fmt.Sprintf("no pool this Service may use has %s addresses: add such addresses to a pool, or change the Service's ipFamilies", joinFams(fams)))
	}
}

// tryPool picks an address of each family of fams in pool p into out; on
// failure it gives back what it took, leaves out empty and returns false.
func (a *Allocator) tryPool(p *poolState, fams []Family, info sharing, e *svcEntry, out *pair) bool {
	*out = pair{}
	for _, f := range fams {
		ip, isNew, ok := a.pick(p, famIdxOf(f), info, e)
		if !ok {
			a.untake(p, out)
			*out = pair{}
			return false
		}
		out.add(ip, p, isNew)
	}
	return true
}

// pick finds an address of family fi in pool p for the Service: one already
// used with its sharing key and compatible (lowest first), else a free one
// (isNew). An address returned with isNew must be committed or untaken.
func (a *Allocator) pick(p *poolState, fi int, info sharing, e *svcEntry) (ip netip.Addr, isNew, ok bool) {
	if info.key != "" {
		var best netip.Addr
		for ip := range a.shared[info.key] {
			if famIdx(ip) != fi || a.ips[ip].pool != p || (best.IsValid() && best.Less(ip)) {
				continue
			}
			if a.shareable(ip, info, e) == nil {
				best = ip
			}
		}
		if best.IsValid() {
			return best, false, true
		}
	}
	if !p.has(fi) {
		return netip.Addr{}, false, false
	}
	ip, ok = p.fam[fi].take(p.spec.AvoidBuggyIPs, a.used)
	return ip, ok, ok
}

// anycastPrefix names the CIDR entry of p whose subnet-router anycast
// address is ip.
func anycastPrefix(p *poolState, ip netip.Addr) string {
	for _, r := range p.fam[famIdx(ip)].ranges {
		if r.First == ip {
			return r.String()
		}
	}
	return ip.String()
}

// untake gives back the addresses of ips that pick took (new) but that are
// not committed.
func (a *Allocator) untake(p *poolState, ips *pair) {
	for i, ip := range ips.list() {
		if ips.new[i] {
			p.fam[famIdx(ip)].free = append(p.fam[famIdx(ip)].free, ip)
		}
	}
}

// mayUse reports whether the pool's serviceAllocation admits the Service.
func mayUse(p *poolState, svc *Service) bool {
	sa := p.spec.ServiceAllocation
	if sa == nil {
		return true
	}
	nsOK := len(sa.Namespaces) == 0 && len(sa.NamespaceSelectors) == 0 ||
		slices.Contains(sa.Namespaces, svc.Namespace) ||
		matchesAny(sa.NamespaceSelectors, svc.NamespaceLabels)
	svcOK := len(sa.ServiceSelectors) == 0 || matchesAny(sa.ServiceSelectors, svc.Labels)
	return nsOK && svcOK
}

// matchesAny reports whether one selector matches; a nil selector matches
// everything, as an empty metav1.LabelSelector does.
func matchesAny(sels []labels.Selector, l map[string]string) bool {
	for _, s := range sels {
		if s == nil || s.Matches(labels.Set(l)) {
			return true
		}
	}
	return false
}

func missingPool(name string) *Error {
	return newError(InvalidRequest, fmt.Sprintf("the address-pool annotation names pool %q, which does not exist or is invalid: create it, fix it, or change the annotation", name))
}

func famIdxOf(f Family) int {
	if f == IPv4 {
		return 0
	}
	return 1
}

func joinFams(fs []Family) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, " and ")
}
