package frrconfig

import (
	"cmp"
	"slices"
)

// DefaultStageNeighbors is how many new neighbors the speaker adds per
// apply (StageNeighbors' max). A step of 50 is about 400 commands; FRR's
// time per route-map command grows with the config, so on a 2-core machine
// at load 10–15 a step took 1–5 s with up to 300 neighbors present and up
// to 22 s with 1000 (e2e/bench/frrapply -peers 1000 -stage 50): a Service
// change waits at most one step. Smaller steps shorten that wait at about
// half a second of rendering and checking per step at 1000 neighbors.
const DefaultStageNeighbors = 50

// Staged says what StageNeighbors did.
type Staged struct {
	// Added is how many neighbors the step has that applied has not.
	Added int
	// Deferred is how many of planned's new neighbors the step leaves to
	// later steps; 0 when the step is planned itself.
	Deferred int
}

// StageNeighbors returns the config to apply next on the way from applied
// (what FRR runs; nil: nothing) to planned, when base is the config FRR
// ran when this way began (applied at the first step). When planned has
// at most max neighbors that applied has not, that is planned itself.
// Otherwise it is planned with only max of those new neighbors — the
// first by router, then numbered ones by address, then unnumbered ones by
// interface, so that each step takes the next ones — and everything else
// in full: every router and its prefixes, the BFD profiles, the neighbors
// base has (with their changes, prefixes included), and the removal of
// those planned drops.
//
// The neighbors the steps add (planned's, not base's) get no prefixes
// until the last step, which gives them all theirs at once: a prefix's
// route-map class is the set of neighbors receiving it (see classesOf),
// so a neighbor joining it re-tags the prefix and every receiving
// neighbor's route-map entry, work proportional to the prefixes and the
// neighbors; once per rollout, not once per step. A new neighbor without
// Families keeps its prefixes (its families follow from them: adding them
// later would reset its session).
//
// A neighbor is new when the other config has no neighbor of its name in
// a router of the same VRF and ASN (a router whose ASN changes is a new
// router: bgpd rebuilds it). A step is valid whenever planned is. max < 1
// means no staging. The result shares planned's slices except the
// neighbor lists it changes.
func StageNeighbors(base, applied, planned *Config, max int) (Config, Staged) {
	inBase, inApplied := neighborSet(base), neighborSet(applied)
	type newNeighbor struct {
		router int
		name   string
	}
	var fresh []newNeighbor
	var sortKey []*Neighbor // fresh's neighbors, for the order
	for i, r := range planned.Routers {
		k := routerKey{r.ASN, r.VRF}
		for j := range r.Neighbors {
			if n := r.Neighbors[j].name(); !inApplied[k][n] {
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
		k := routerKey{r.ASN, r.VRF}
		kept := make([]Neighbor, 0, len(r.Neighbors))
		for _, n := range r.Neighbors {
			if later[newNeighbor{i, n.name()}] {
				continue
			}
			if !inBase[k][n.name()] && len(n.Families) > 0 {
				n.Advertise = nil // with the last step
			}
			kept = append(kept, n)
		}
		r.Neighbors = kept
	}
	return out, Staged{Added: max, Deferred: len(fresh) - max}
}

// routerKey identifies a router across configs.
type routerKey struct {
	asn uint32
	vrf string
}

// neighborSet lists c's neighbors' names per router.
func neighborSet(c *Config) map[routerKey]map[string]bool {
	out := map[routerKey]map[string]bool{}
	if c == nil {
		return out
	}
	for _, r := range c.Routers {
		names := make(map[string]bool, len(r.Neighbors))
		for i := range r.Neighbors {
			names[r.Neighbors[i].name()] = true
		}
		out[routerKey{r.ASN, r.VRF}] = names
	}
	return out
}
