package ipam

import (
	"net/netip"
	"slices"
)

// rangeIndex finds the pool of an address: the ranges of all accepted pools,
// sorted and non-overlapping, searched in O(log ranges).
type rangeIndex []indexEntry

type indexEntry struct {
	r    Range
	pool *poolState
}

func (idx rangeIndex) find(a netip.Addr) (indexEntry, bool) {
	i, found := slices.BinarySearchFunc(idx, a, func(e indexEntry, a netip.Addr) int {
		switch {
		case e.r.Last.Less(a):
			return -1
		case a.Less(e.r.First):
			return 1
		}
		return 0
	})
	if !found {
		return indexEntry{}, false
	}
	return idx[i], true
}

// lookup returns the pool that may hand out a, or nil.
func (idx rangeIndex) lookup(a netip.Addr) *poolState {
	e, ok := idx.find(a)
	if !ok || !usable(a, e.pool.spec.AvoidBuggyIPs) {
		return nil
	}
	return e.pool
}

// overlap returns a pool of the index sharing an address with p, with the
// two ranges concerned.
func (idx rangeIndex) overlap(p *poolState) (*poolState, Range, Range) {
	for _, r := range p.ranges {
		i, _ := slices.BinarySearchFunc(idx, r.First, func(e indexEntry, a netip.Addr) int {
			if e.r.Last.Less(a) {
				return -1
			}
			return 1
		})
		if i < len(idx) && idx[i].r.Overlaps(r) {
			return idx[i].pool, r, idx[i].r
		}
	}
	return nil, Range{}, Range{}
}

func (idx *rangeIndex) add(p *poolState) {
	for _, r := range p.ranges {
		*idx = append(*idx, indexEntry{r: r, pool: p})
	}
	slices.SortFunc(*idx, func(a, b indexEntry) int { return a.r.First.Compare(b.r.First) })
}
