package frrconfig

import (
	"cmp"
	"slices"
)

// DefaultStageNeighbors is how many new neighbors the speaker adds per
// apply (StageNeighbors' max). bgpd's work per added neighbor grows with
// the neighbors it has (route-maps and prefix-lists are re-evaluated for
// every peer), so one apply of hundreds of neighbors holds bgpd at 100 %
// CPU for minutes: Service changes queue behind it and BFD starves. 50
// keeps one step to a few seconds on a busy 2-core machine (see
// e2e/bench/frrapply -stage).
const DefaultStageNeighbors = 50

// Staged says what StageNeighbors left out.
type Staged struct {
	// Added is how many neighbors the step has that applied has not.
	Added int
	// Deferred is how many of planned's new neighbors the step leaves to
	// later steps; 0 when the step is planned itself.
	Deferred int
}

// StageNeighbors returns the config to apply next on the way from applied
// (what FRR runs; nil: nothing) to planned. When planned adds at most max
// neighbors that applied has not, that is planned itself. Otherwise it is
// planned with only max of the new neighbors — the first by router, then
// numbered ones by address, then unnumbered ones by interface, so that
// each step takes the next ones — and everything else in full: every
// router and its prefixes, the BFD profiles, the neighbors applied has
// (with their changes), and the removal of those planned drops. A
// neighbor is new when applied has no neighbor of its name in a router of
// the same VRF and ASN (a router whose ASN changes is a new router: bgpd
// rebuilds it). Each neighbor carries its own advertisements, so a step
// is valid whenever planned is. max < 1 means no staging. The result
// shares planned's slices except the neighbor lists it shortens.
func StageNeighbors(applied, planned *Config, max int) (Config, Staged) {
	type routerKey struct {
		asn uint32
		vrf string
	}
	old := map[routerKey]map[string]bool{}
	if applied != nil {
		for _, r := range applied.Routers {
			names := make(map[string]bool, len(r.Neighbors))
			for i := range r.Neighbors {
				names[r.Neighbors[i].name()] = true
			}
			old[routerKey{r.ASN, r.VRF}] = names
		}
	}
	type newNeighbor struct {
		router int
		name   string
	}
	var fresh []newNeighbor
	var sortKey []*Neighbor // fresh's neighbors, for the order
	for i, r := range planned.Routers {
		names := old[routerKey{r.ASN, r.VRF}]
		for j := range r.Neighbors {
			if n := r.Neighbors[j].name(); !names[n] {
				fresh = append(fresh, newNeighbor{i, n})
				sortKey = append(sortKey, &r.Neighbors[j])
			}
		}
	}
	if max < 1 || len(fresh) <= max {
		return *planned, Staged{Added: len(fresh)}
	}
	order := make([]int, len(fresh))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		na, nb := sortKey[a], sortKey[b]
		return cmp.Or(cmp.Compare(fresh[a].router, fresh[b].router),
			cmp.Compare(na.Interface, nb.Interface), na.Address.Compare(nb.Address))
	})
	later := make(map[newNeighbor]bool, len(fresh)-max)
	for _, i := range order[max:] {
		later[fresh[i]] = true
	}
	out := *planned
	out.Routers = slices.Clone(planned.Routers)
	for i := range out.Routers {
		r := &out.Routers[i]
		var kept []Neighbor
		for j := range r.Neighbors {
			if !later[newNeighbor{i, r.Neighbors[j].name()}] {
				kept = append(kept, r.Neighbors[j])
			}
		}
		if len(kept) != len(r.Neighbors) {
			r.Neighbors = kept
		}
	}
	return out, Staged{Added: max, Deferred: len(fresh) - max}
}
