package frrconfig

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// netipEqual compares netip values for cmp.
var netipEqual = cmp.Options{cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b })}

// stageNeighbor is neighbor 198.51.100.<i> announcing the given prefixes.
func stageNeighbor(i int, prefixes ...string) Neighbor {
	return Neighbor{Address: addr(fmt.Sprintf("198.51.100.%d", i)), RemoteAS: "64600", BFD: true, BFDProfile: "fast",
		Families: []string{FamilyIPv4}, Advertise: advs(prefixes...)}
}

// stageConfig is one default-VRF router with the prefixes and the neighbors
// 198.51.100.<i> for each i of ids, each announcing every prefix.
func stageConfig(prefixes []string, ids ...int) *Config {
	r := Router{ASN: 64512, RouterID: addr("198.51.100.11"), IPv4Networks: pfxs(prefixes...)}
	for _, i := range ids {
		r.Neighbors = append(r.Neighbors, stageNeighbor(i, prefixes...))
	}
	return &Config{BFDProfiles: []BFDProfile{{Name: "fast", ReceiveInterval: 100}}, Routers: []Router{r}}
}

// neighborNames lists each router's neighbors as "vrf/name".
func neighborNames(c *Config) []string {
	var out []string
	for _, r := range c.Routers {
		for i := range r.Neighbors {
			out = append(out, r.VRF+"/"+r.Neighbors[i].name())
		}
	}
	return out
}

// announcing lists the neighbors with prefixes to send, as neighborNames.
func announcing(c *Config) []string {
	var out []string
	for _, r := range c.Routers {
		for i := range r.Neighbors {
			if len(r.Neighbors[i].Advertise) > 0 {
				out = append(out, r.VRF+"/"+r.Neighbors[i].name())
			}
		}
	}
	return out
}

func TestStageNeighbors(t *testing.T) {
	one := []string{"192.0.2.1/32"}
	two := []string{"192.0.2.1/32", "192.0.2.2/32"}
	seq := func(from, to int) []int {
		var out []int
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	}
	names := func(ids ...int) []string {
		var out []string
		for _, i := range ids {
			out = append(out, fmt.Sprintf("/198.51.100.%d", i))
		}
		return out
	}
	shuffled := stageConfig(two, 9, 3, 7, 1, 5, 2)
	changed := stageConfig(two, seq(1, 8)...)
	changed.Routers[0].Neighbors[0].RemoteAS = "64601" // neighbor 1, applied already
	vrfs := stageConfig(one, 1, 2)
	vrfs.Routers = append(vrfs.Routers, Router{ASN: 64512, VRF: "red", IPv4Networks: pfxs("192.0.2.9/32"),
		Neighbors: []Neighbor{stageNeighbor(1, "192.0.2.9/32"), stageNeighbor(2, "192.0.2.9/32"), {Interface: "eth1", RemoteAS: "external"}}})
	newASN := stageConfig(one, 1, 2, 3)
	newASN.Routers[0].ASN = 64513

	noFamilies := stageConfig(one, 1, 2, 3, 4)
	noFamilies.Routers[0].Neighbors[1].Families = nil // 2
	held := stageConfig(one, 1, 2, 3)
	held.Routers[0].Neighbors[1].Advertise, held.Routers[0].Neighbors[2].Advertise = nil, nil

	cases := []struct {
		name             string
		base             *Config // nil: applied
		applied, planned *Config
		max              int
		// want are the step's neighbors, announcing those with prefixes
		// (nil: want); same says the step is planned itself.
		want, announcing []string
		same             bool
		stage            Staged
	}{
		{name: "as many new neighbors as max: planned unchanged", applied: stageConfig(one, 1), planned: stageConfig(two, 1, 2, 3),
			max: 2, want: names(1, 2, 3), same: true, stage: Staged{Added: 2}},
		{name: "no new neighbor, removals and new prefixes: planned unchanged", applied: stageConfig(one, seq(1, 10)...),
			planned: stageConfig(two, 2), max: 2, want: names(2), same: true},
		{name: "FRR runs nothing: the first max, without prefixes", planned: stageConfig(one, seq(1, 5)...), max: 2,
			want: names(1, 2), announcing: []string{}, stage: Staged{Added: 2, Deferred: 3}},
		{name: "lowest addresses first, whatever planned's order", planned: shuffled, max: 3,
			want: names(3, 1, 2), announcing: []string{}, stage: Staged{Added: 3, Deferred: 3}},
		{name: "changes to base's neighbors and removals go in full", applied: stageConfig(one, 1, 20, 21), planned: changed, max: 3,
			want: names(1, 2, 3, 4), announcing: names(1), stage: Staged{Added: 3, Deferred: 4}},
		{name: "routers in order, then addresses; unnumbered after", applied: stageConfig(one, 1), planned: vrfs, max: 3,
			want: []string{"/198.51.100.1", "/198.51.100.2", "red/198.51.100.1", "red/198.51.100.2"}, announcing: names(1),
			stage: Staged{Added: 3, Deferred: 1}},
		{name: "a router whose ASN changed has only new neighbors", applied: stageConfig(one, 1, 2, 3), planned: newASN, max: 2,
			want: names(1, 2), announcing: []string{}, stage: Staged{Added: 2, Deferred: 1}},
		{name: "a new neighbor without families keeps its prefixes", applied: stageConfig(one, 1), planned: noFamilies, max: 2,
			want: names(1, 2, 3), announcing: names(1, 2), stage: Staged{Added: 2, Deferred: 1}},
		{name: "next step: the neighbors added before stay without prefixes", base: stageConfig(one, 1),
			applied: held, planned: stageConfig(two, seq(1, 9)...), max: 2,
			want: names(1, 2, 3, 4, 5), announcing: names(1), stage: Staged{Added: 2, Deferred: 4}},
		{name: "last step: every neighbor gets its prefixes", base: stageConfig(one, 1),
			applied: held, planned: stageConfig(two, seq(1, 5)...), max: 2,
			want: names(1, 2, 3, 4, 5), same: true, stage: Staged{Added: 2}},
		{name: "max 0: no staging", planned: stageConfig(one, seq(1, 5)...), want: names(seq(1, 5)...), same: true, stage: Staged{Added: 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := neighborNames(tc.planned)
			base := tc.base
			if base == nil {
				base = tc.applied
			}
			step, st := StageNeighbors(base, tc.applied, tc.planned, tc.max)
			if diff := cmp.Diff(tc.stage, st); diff != "" {
				t.Errorf("Staged (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, neighborNames(&step)); diff != "" {
				t.Errorf("the step's neighbors (-want +got):\n%s", diff)
			}
			if tc.announcing == nil {
				tc.announcing = tc.want
			}
			if diff := cmp.Diff(tc.announcing, announcing(&step), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("the step's neighbors with prefixes (-want +got):\n%s", diff)
			}
			// Every neighbor with prefixes has planned's.
			for i, r := range step.Routers {
				for _, n := range r.Neighbors {
					if len(n.Advertise) == 0 {
						continue
					}
					j := slices.IndexFunc(tc.planned.Routers[i].Neighbors, func(p Neighbor) bool { return p.name() == n.name() })
					if diff := cmp.Diff(tc.planned.Routers[i].Neighbors[j], n, netipEqual); diff != "" {
						t.Errorf("neighbor %s differs from planned's (-planned +step):\n%s", n.name(), diff)
					}
				}
			}
			if got := cmp.Equal(*tc.planned, step, netipEqual); got != tc.same {
				t.Errorf("step equals planned: %v, want %v", got, tc.same)
			}
			if diff := cmp.Diff(before, neighborNames(tc.planned)); diff != "" {
				t.Errorf("planned was modified (-before +after):\n%s", diff)
			}
			// Everything but the neighbor lists is planned's.
			for i := range step.Routers {
				s, p := step.Routers[i], tc.planned.Routers[i]
				s.Neighbors, p.Neighbors = nil, nil
				if diff := cmp.Diff(p, s, netipEqual); diff != "" {
					t.Errorf("router %d differs beyond its neighbors (-planned +step):\n%s", i, diff)
				}
			}
			if diff := cmp.Diff(tc.planned.BFDProfiles, step.BFDProfiles); diff != "" {
				t.Errorf("BFD profiles (-planned +step):\n%s", diff)
			}
			if err := step.Validate(); err != nil {
				t.Errorf("the step is invalid: %v", err)
			}
			if _, err := Render(&step); err != nil {
				t.Errorf("rendering the step: %v", err)
			}
		})
	}
}

// TestStageNeighborsReachesPlanned follows the steps, each applied, until
// the planned config: every neighbor once, max per step, in order, the
// new ones with their prefixes only at the last step.
func TestStageNeighborsReachesPlanned(t *testing.T) {
	var ids []int
	for i := 250; i >= 2; i -= 3 { // 83 neighbors, descending
		ids = append(ids, i)
	}
	planned := stageConfig([]string{"192.0.2.1/32"}, ids...)
	applied := stageConfig(nil, 250, 1) // 1 goes, 250 stays
	base := applied
	var added []string
	steps := 0
	for ; steps < 10; steps++ {
		step, st := StageNeighbors(base, applied, planned, 20)
		if st.Deferred > 0 && !slices.Equal(announcing(&step), []string{"/198.51.100.250"}) {
			t.Errorf("step %d: neighbors with prefixes %v, want only base's", steps, announcing(&step))
		}
		var now []string // this step's new neighbors, sorted
		for _, n := range neighborNames(&step) {
			if !slices.Contains(neighborNames(applied), n) {
				now = append(now, n)
			}
		}
		slices.SortFunc(now, func(a, b string) int { return addr(a[1:]).Compare(addr(b[1:])) })
		added = append(added, now...)
		if st.Added > 20 {
			t.Fatalf("step %d adds %d neighbors, want at most 20", steps, st.Added)
		}
		applied = &step
		if st.Deferred == 0 {
			break
		}
	}
	if diff := cmp.Diff(*planned, *applied, netipEqual); diff != "" {
		t.Fatalf("after %d steps (-planned +applied):\n%s", steps+1, diff)
	}
	if steps+1 != 5 { // 82 new in steps of 20
		t.Errorf("%d steps, want 5", steps+1)
	}
	if !slices.IsSortedFunc(added, func(a, b string) int { return addr(a[1:]).Compare(addr(b[1:])) }) || len(added) != 82 {
		t.Errorf("neighbors added in this order: %v; want each of the 82 once, lowest address first", added)
	}
}
