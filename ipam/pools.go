package ipam

import (
	"fmt"
	"slices"
	"strings"
)

// SetPools replaces the pool set. Each pool is validated on its own
// (address syntax, at least one usable address, no overlap between its own
// entries) and against the others (no address in two pools). A rejected
// pool is reported in PoolsResult.Errors and keeps its last accepted
// definition if it had one, so a bad edit never moves or drops existing
// assignments; the other pools are unaffected. When two pools overlap, a
// pool whose addresses are unchanged since the last call wins over one whose
// addresses changed, then the first by name wins; the message names both
// pools and the overlapping addresses.
//
// Services holding an address that is no longer a usable address of any
// pool are listed in PoolsResult.Stale; the allocator keeps their addresses
// reserved until Allocate or Release is called for them.
func (a *Allocator) SetPools(pools []Pool) PoolsResult {
	a.mu.Lock()
	defer a.mu.Unlock()

	res := PoolsResult{Errors: map[string]*Error{}}
	sorted := slices.Clone(pools)
	slices.SortStableFunc(sorted, func(x, y Pool) int { return strings.Compare(x.Name, y.Name) })

	type candidate struct {
		state     *poolState // the new definition, nil if invalid
		old       *poolState // the last accepted definition, if any
		unchanged bool
	}
	var cands []candidate
	for i, p := range sorted {
		if i > 0 && sorted[i-1].Name == p.Name {
			res.Errors[p.Name] = newError(InvalidPool, fmt.Sprintf("pool %q is listed twice: pool names must be unique", p.Name))
			continue
		}
		c := candidate{old: a.pools[p.Name]}
		st, err := buildPool(p)
		if err != nil {
			res.Errors[p.Name] = err
		} else {
			if c.old != nil && slices.Equal(c.old.ranges, st.ranges) && c.old.spec.AvoidBuggyIPs == p.AvoidBuggyIPs {
				// Same addresses: keep cursors and free lists, take the
				// new autoAssign and serviceAllocation.
				c.old.spec = st.spec
				st = c.old
				c.unchanged = true
			}
			c.state = st
		}
		cands = append(cands, c)
	}
	slices.SortStableFunc(cands, func(x, y candidate) int {
		if x.unchanged != y.unchanged {
			if x.unchanged {
				return -1
			}
			return 1
		}
		return 0 // already by name
	})

	var idx rangeIndex
	newPools := map[string]*poolState{}
	for _, c := range cands {
		if c.state != nil {
			other, r, o := idx.overlap(c.state)
			if other == nil {
				idx.add(c.state)
				newPools[c.state.spec.Name] = c.state
				continue
			}
			res.Errors[c.state.spec.Name] = newError(InvalidPool, fmt.Sprintf(
				"pool %q: addresses %s overlap pool %q (%s) at %s: remove the shared addresses from one of the two pools",
				c.state.spec.Name, r, other.spec.Name, o, r.intersect(o)))
		}
		// Invalid now: fall back to the last accepted definition.
		if c.old != nil && c.old != c.state {
			if other, _, _ := idx.overlap(c.old); other == nil {
				idx.add(c.old)
				newPools[c.old.spec.Name] = c.old
			}
		}
	}
	a.pools = newPools
	a.index = idx
	a.auto = a.auto[:0]
	for _, p := range newPools {
		if p.spec.AutoAssign {
			a.auto = append(a.auto, p)
		}
		p.fam[0].assigned, p.fam[1].assigned = 0, 0
	}
	slices.SortFunc(a.auto, autoOrder)

	stale := map[string]bool{}
	for ip, ent := range a.ips {
		ent.pool = a.index.lookup(ip)
		if ent.pool == nil {
			for _, u := range ent.users {
				stale[u.key] = true
			}
			continue
		}
		ent.pool.fam[famIdx(ip)].assigned++
	}
	for k := range stale {
		res.Stale = append(res.Stale, k)
	}
	slices.Sort(res.Stale)
	return res
}

// buildPool parses and checks one pool on its own.
func buildPool(p Pool) (*poolState, *Error) {
	bad := func(format string, args ...any) *Error {
		return newError(InvalidPool, fmt.Sprintf("pool %q: ", p.Name)+fmt.Sprintf(format, args...))
	}
	if p.Name == "" {
		return nil, newError(InvalidPool, "a pool has no name: give every pool a unique name")
	}
	if len(p.Addresses) == 0 {
		return nil, bad("no addresses: add a CIDR like 192.0.2.0/24 or a range like 192.0.2.10-192.0.2.20")
	}
	ranges, err := ParseAddresses(p.Addresses)
	if err != nil {
		return nil, bad("%v", err)
	}
	st := newPoolState(p, ranges)
	for i := 1; i < len(st.ranges); i++ {
		if st.ranges[i-1].Overlaps(st.ranges[i]) {
			return nil, bad("addresses %s and %s overlap: list each address once", st.ranges[i-1], st.ranges[i])
		}
	}
	if st.fam[0].total.Sign() == 0 && st.fam[1].total.Sign() == 0 {
		return nil, bad("no usable address (avoidBuggyIPs excludes addresses ending in .0 and .255): add addresses or set avoidBuggyIPs to false")
	}
	return st, nil
}

// CheckPool validates one pool on its own, as SetPools does before looking
// at the other pools: a name, addresses that parse, no overlap between its
// own entries, at least one usable address. The error is an *Error with
// Reason InvalidPool naming the pool and the fix.
func CheckPool(p Pool) error {
	_, err := buildPool(p)
	return errOrNil(err)
}
