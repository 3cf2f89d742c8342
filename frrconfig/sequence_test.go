package frrconfig

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// clone deep-copies a config.
func clone(t *testing.T, c *Config) *Config {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out Config
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// mutator makes random changes of the kinds Diff handles incrementally.
type mutator struct {
	rng *rand.Rand
}

var (
	seqPool4 = func() (out []netip.Prefix) {
		for i := range 24 {
			out = append(out, pfx(fmt.Sprintf("192.0.2.%d/32", i)))
		}
		return append(out, pfx("192.0.2.128/25"), pfx("192.0.2.0/31"))
	}()
	seqPool6 = func() (out []netip.Prefix) {
		for i := range 8 {
			out = append(out, pfx(fmt.Sprintf("2001:db8:200::%x/128", i)))
		}
		return append(out, pfx("2001:db8:200:1::/64"))
	}()
	seqNeighbors = []Neighbor{
		{Address: addr("198.51.100.1"), RemoteAS: "64513", BFD: true, BFDProfile: "fast"},
		{Address: addr("198.51.100.2"), RemoteAS: "internal", Password: "s3cret"},
		{Address: addr("198.51.100.3"), RemoteAS: "external", EBGPMultihop: 3},
		{Address: addr("2001:db8:100::1"), RemoteAS: "64514"},
		{Interface: "eth1", RemoteAS: "external", GracefulRestart: true},
	}
)

func (m *mutator) attrs(p netip.Prefix) Advertisement {
	a := Advertisement{Prefix: p}
	communities := [][]string{nil, {"65000:1"}, {"65000:2", "no-export"}, {"65000:1", "65000:2"}}
	larges := [][]string{nil, {"64512:1:1"}, {"64512:2:2", "64512:1:1"}}
	a.Communities = communities[m.rng.IntN(len(communities))]
	a.LargeCommunities = larges[m.rng.IntN(len(larges))]
	if m.rng.IntN(3) == 0 {
		a.LocalPref = u32(uint32(100 * (1 + m.rng.IntN(3))))
	}
	return a
}

// fits reports whether prefix p can go to neighbor n without changing the
// families n is activated in.
func fits(n *Neighbor, p netip.Prefix) bool {
	return n.Interface != "" || n.Address.Is4() == p.Addr().Is4()
}

func (m *mutator) mutate(c *Config) string {
	r := &c.Routers[0]
	switch m.rng.IntN(8) {
	case 0, 1, 7: // a prefix added
		pool := seqPool4
		if m.rng.IntN(3) == 0 {
			pool = seqPool6
		}
		p := pool[m.rng.IntN(len(pool))]
		nets := &r.IPv4Networks
		if p.Addr().Is6() {
			nets = &r.IPv6Networks
		}
		if slices.Contains(*nets, p) {
			return "nothing"
		}
		*nets = append(*nets, p)
		for i := range r.Neighbors {
			if n := &r.Neighbors[i]; fits(n, p) && m.rng.IntN(3) > 0 {
				n.Advertise = append(n.Advertise, m.attrs(p))
			}
		}
		return "add " + p.String()
	case 2: // a prefix removed
		all := append(slices.Clone(r.IPv4Networks), r.IPv6Networks...)
		if len(all) == 0 {
			return "nothing"
		}
		p := all[m.rng.IntN(len(all))]
		r.IPv4Networks = slices.DeleteFunc(r.IPv4Networks, func(q netip.Prefix) bool { return q == p })
		r.IPv6Networks = slices.DeleteFunc(r.IPv6Networks, func(q netip.Prefix) bool { return q == p })
		for i := range r.Neighbors {
			r.Neighbors[i].Advertise = slices.DeleteFunc(r.Neighbors[i].Advertise, func(a Advertisement) bool { return a.Prefix == p })
		}
		return "remove " + p.String()
	case 3, 4: // a prefix's attributes changed
		if len(r.Neighbors) == 0 {
			return "nothing"
		}
		n := &r.Neighbors[m.rng.IntN(len(r.Neighbors))]
		if len(n.Advertise) == 0 {
			return "nothing"
		}
		k := m.rng.IntN(len(n.Advertise))
		n.Advertise[k] = m.attrs(n.Advertise[k].Prefix)
		return "attributes of " + n.Advertise[k].Prefix.String() + " to " + n.name()
	case 5: // a neighbor added or removed
		k := m.rng.IntN(len(seqNeighbors))
		name := seqNeighbors[k].name()
		if i := slices.IndexFunc(r.Neighbors, func(n Neighbor) bool { return n.name() == name }); i >= 0 {
			r.Neighbors = slices.Delete(r.Neighbors, i, i+1)
			return "remove neighbor " + name
		}
		n := seqNeighbors[k]
		n.Advertise = nil
		for _, p := range append(slices.Clone(r.IPv4Networks), r.IPv6Networks...) {
			if fits(&n, p) && m.rng.IntN(2) == 0 {
				n.Advertise = append(n.Advertise, m.attrs(p))
			}
		}
		r.Neighbors = append(r.Neighbors, n)
		return "add neighbor " + name
	default: // a BFD profile changed
		p := &c.BFDProfiles[m.rng.IntN(len(c.BFDProfiles))]
		intervals := []uint32{0, 50, 300, 1000}
		p.ReceiveInterval = intervals[m.rng.IntN(len(intervals))]
		p.TransmitInterval = intervals[m.rng.IntN(len(intervals))]
		p.DetectMultiplier = uint8(m.rng.IntN(6))
		if p.DetectMultiplier == 1 {
			p.DetectMultiplier = 0
		}
		p.EchoMode = m.rng.IntN(2) == 0
		p.PassiveMode = m.rng.IntN(2) == 0
		p.MinimumTTL = uint8(250 + m.rng.IntN(5))
		return "bfd profile " + p.Name
	}
}

// TestDiffSequenceOnFRR drives one FRR instance through a long random
// sequence of incremental changes, applying only Diff's commands, and
// checks after each step that FRR runs exactly what Render prints.
func TestDiffSequenceOnFRR(t *testing.T) {
	cur := &Config{
		BFDProfiles: []BFDProfile{{Name: "fast", ReceiveInterval: 100}, {Name: "slow"}},
		Routers: []Router{{ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.1/32"),
			Neighbors:    []Neighbor{seqNeighbors[0], seqNeighbors[4]},
		}},
	}
	m := &mutator{rng: rand.New(rand.NewPCG(1, 2))}
	r := &cur.Routers[0]
	for _, p := range append(seqPool4[2:12:12], seqPool6[:3]...) {
		if p.Addr().Is4() {
			r.IPv4Networks = append(r.IPv4Networks, p)
		} else {
			r.IPv6Networks = append(r.IPv6Networks, p)
		}
		for i := range r.Neighbors {
			if fits(&r.Neighbors[i], p) {
				r.Neighbors[i].Advertise = append(r.Neighbors[i].Advertise, m.attrs(p))
			}
		}
	}
	rendered, err := Render(cur)
	if err != nil {
		t.Fatal(err)
	}
	inst := startFRR(t, string(rendered))
	for step := range 60 {
		next := clone(t, cur)
		what := m.mutate(next)
		cmds, err := Diff(cur, next)
		if err != nil {
			t.Fatalf("step %d (%s): Diff: %v", step, what, err)
		}
		t.Logf("step %d: %s: %d commands", step, what, len(cmds))
		if len(cmds) > 0 {
			applyCommands(t, inst, cmds)
		}
		want, err := Render(next)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Normalize(want), runningConfig(t, inst)); diff != "" {
			t.Fatalf("step %d (%s): after %q FRR runs something else than Render (-rendered +running):\n%s", step, what, cmds, diff)
		}
		cur = next
	}
}
