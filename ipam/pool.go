package ipam

import (
	"cmp"
	"math"
	"math/big"
	"net/netip"
	"slices"
)

// famIdx maps a family to its slot in per-family arrays.
func famIdx(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// poolState is an accepted pool: its spec and, per family, the structures
// that make allocation O(1) amortised.
type poolState struct {
	spec   Pool
	ranges []Range // all ranges, sorted
	fam    [2]*famState
}

// famState hands out a pool's addresses of one family. Addresses never
// handed out are produced by a cursor walking the ranges in order (next),
// so untouched addresses cost no memory; released addresses go to a free
// list. Both sources are checked against the allocator's used set, so an
// address taken out of order (requested, restored) is skipped once by the
// cursor and costs nothing more.
type famState struct {
	ranges []Range // sorted, non-overlapping
	cur    int     // index of the range the cursor is in
	next   netip.Addr
	free   []netip.Addr
	// stale: an address may have been taken (requested or restored)
	// while on free, so take checks free's entries against the used set;
	// false once free is empty. Otherwise every entry of free is unused,
	// and the common churn (release, then allocate) takes one without a
	// lookup.
	stale    bool
	total    *big.Int
	assigned uint64
	// anycast are the subnet-router anycast addresses of the family's
	// CIDR entries (SubnetRouterAnycast), sorted: never handed out. Each
	// is the first address of its range.
	anycast []netip.Addr
}

func newPoolState(p Pool, ranges []Range) *poolState {
	ps := &poolState{spec: clonePool(p), ranges: slices.Clone(ranges)}
	slices.SortFunc(ps.ranges, func(a, b Range) int { return a.First.Compare(b.First) })
	for i := range ps.fam {
		ps.fam[i] = &famState{total: new(big.Int)}
	}
	for _, r := range ps.ranges {
		f := ps.fam[famIdx(r.First)]
		f.ranges = append(f.ranges, r)
		f.total.Add(f.total, r.usableSize(p.AvoidBuggyIPs))
		if a, ok := SubnetRouterAnycast(r); ok {
			f.anycast = append(f.anycast, a)
			f.total.Sub(f.total, big.NewInt(1))
		}
	}
	for _, f := range ps.fam {
		if len(f.ranges) > 0 {
			f.next = f.ranges[0].First
		}
	}
	return ps
}

// isAnycast reports whether a is one of the family's subnet-router anycast
// addresses.
func (f *famState) isAnycast(a netip.Addr) bool {
	if len(f.anycast) == 0 {
		return false
	}
	_, found := slices.BinarySearchFunc(f.anycast, a, netip.Addr.Compare)
	return found
}

func clonePool(p Pool) Pool {
	p.Addresses = slices.Clone(p.Addresses)
	if p.ServiceAllocation != nil {
		sa := *p.ServiceAllocation
		sa.Namespaces = slices.Clone(sa.Namespaces)
		sa.NamespaceSelectors = slices.Clone(sa.NamespaceSelectors)
		sa.ServiceSelectors = slices.Clone(sa.ServiceSelectors)
		p.ServiceAllocation = &sa
	}
	return p
}

// has reports whether the pool has addresses of the family at all.
func (p *poolState) has(fi int) bool { return len(p.fam[fi].ranges) > 0 }

// hasAll reports whether the pool has addresses of every family of fams.
func (p *poolState) hasAll(fams []Family) bool {
	for _, f := range fams {
		if !p.has(famIdxOf(f)) {
			return false
		}
	}
	return true
}

// contains reports whether a is an address the pool may hand out.
func (p *poolState) contains(a netip.Addr) bool {
	if !usable(a, p.spec.AvoidBuggyIPs) {
		return false
	}
	rs := p.fam[famIdx(a)].ranges
	i, _ := slices.BinarySearchFunc(rs, a, func(r Range, a netip.Addr) int {
		switch {
		case r.Last.Less(a):
			return -1
		case a.Less(r.First):
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].Contains(a)
}

// take returns an address of the family that used says is free, from the
// free list first (checked only when stale), then from the cursor. Each free-list entry is popped once
// and each address is passed by the cursor once, hence O(1) amortised.
func (f *famState) take(avoidBuggy bool, used func(netip.Addr) bool) (netip.Addr, bool) {
	for len(f.free) > 0 {
		a := f.free[len(f.free)-1]
		f.free = f.free[:len(f.free)-1]
		if !f.stale || !used(a) {
			return a, true
		}
	}
	f.stale = false
	for f.cur < len(f.ranges) {
		a := f.next
		if !a.IsValid() || f.ranges[f.cur].Last.Less(a) {
			f.cur++
			if f.cur < len(f.ranges) {
				f.next = f.ranges[f.cur].First
			}
			continue
		}
		f.next = a.Next() // invalid after the last address of the family
		if a == f.ranges[f.cur].First && f.isAnycast(a) {
			continue
		}
		if usable(a, avoidBuggy) && !used(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// put gives back an address that is no longer used. Addresses the cursor
// has not reached yet need no free-list entry; a subnet-router anycast
// address (held by a Service restored with it) is never handed out again.
func (f *famState) put(a netip.Addr) {
	if f.isAnycast(a) {
		return
	}
	if f.cur < len(f.ranges) && f.next.IsValid() && !a.Less(f.next) {
		return
	}
	f.free = append(f.free, a)
}

// autoOrder sorts pools for automatic allocation: pools with a
// serviceAllocation first, by priority (lower first, 0 last), then by name.
func autoOrder(a, b *poolState) int {
	ka, kb := orderKey(a), orderKey(b)
	if c := cmp.Compare(ka, kb); c != 0 {
		return c
	}
	return cmp.Compare(a.spec.Name, b.spec.Name)
}

func orderKey(p *poolState) int64 {
	sa := p.spec.ServiceAllocation
	if sa == nil {
		return math.MaxInt64
	}
	if sa.Priority == 0 {
		return math.MaxInt64 - 1
	}
	return int64(sa.Priority)
}
