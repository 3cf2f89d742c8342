package l2

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/heraldlb/herald/speaker/l2/owner"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPlan(t *testing.T) {
	nodes := []string{"node-a", "node-b", "node-c"}
	v4, v6 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8:200::10")
	ownerV4 := owner.Owner(v4, nodes)
	tests := []struct {
		name     string
		node     string
		services []Service
		live     []string
		want     []Announcement
	}{
		{
			name:     "the rendezvous owner announces, with the advertisement's interfaces",
			node:     ownerV4,
			services: []Service{{IP: v4, Nodes: nodes, Interfaces: []string{"eth1"}}},
			live:     nodes,
			want:     []Announcement{{IP: v4, Interfaces: []string{"eth1"}}},
		},
		{
			name:     "other nodes announce nothing",
			node:     otherThan(nodes, ownerV4),
			services: []Service{{IP: v4, Nodes: nodes}},
			live:     nodes,
			want:     nil,
		},
		{
			name:     "only eligible node announces (externalTrafficPolicy Local)",
			node:     "node-c",
			services: []Service{{IP: v4, Nodes: []string{"node-c"}}, {IP: v6, Nodes: []string{"node-c"}}},
			live:     nodes,
			want:     []Announcement{{IP: v4}, {IP: v6}},
		},
		{
			name:     "a node not in the live set announces nothing",
			node:     "node-c",
			services: []Service{{IP: v4, Nodes: []string{"node-c"}}},
			live:     []string{"node-a", "node-b"},
			want:     nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Plan(tc.node, tc.services, tc.live), addrCmp); diff != "" {
				t.Errorf("Plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func otherThan(nodes []string, not string) string {
	for _, n := range nodes {
		if n != not {
			return n
		}
	}
	return ""
}

// recordingAnnouncer records what the coordinator asks for.
type recordingAnnouncer struct {
	mu   sync.Mutex
	last []Announcement
}

func (r *recordingAnnouncer) Announce(a []Announcement) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = a
}

func TestCoordinator(t *testing.T) {
	nodes := []string{"node-a", "node-b", "node-c"}
	var svcs []Service
	ip := netip.MustParseAddr("192.0.2.1")
	for range 30 {
		svcs = append(svcs, Service{IP: ip, Nodes: nodes})
		ip = ip.Next()
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingAnnouncer{}
	c := NewCoordinator("node-a", rec, m)
	c.SetServices(svcs)
	if len(c.Owned()) != 0 {
		t.Fatalf("owns %v before any live set", c.Owned())
	}
	c.SetLive(nodes)
	withAll := len(c.Owned())
	if withAll == 0 || withAll > 15 {
		t.Fatalf("node-a owns %d of 30 IPs with 3 nodes, want 1..15", withAll)
	}
	c.SetLive([]string{"node-a", "node-b"}) // node-c leaves
	withTwo := len(c.Owned())
	if withTwo < withAll {
		t.Errorf("node-a owns %d IPs after node-c left, fewer than %d before", withTwo, withAll)
	}
	c.SetLive([]string{"node-b"}) // node-a gives up (e.g. link down, stopping)
	// It hands its IPs off to node-b: still answering for them a while.
	if len(c.Owned()) != 0 || len(c.Handing()) != withTwo || len(rec.last) != withTwo {
		t.Errorf("node-a not live owns %v, hands off %d IPs (announcer asked for %d), want none owned, %d handed off",
			c.Owned(), len(c.Handing()), len(rec.last), withTwo)
	}
	c.SetHandoff(0) // the hand-offs end
	c.SetLive([]string{"node-b"})
	if len(c.Owned()) != 0 || len(rec.last) != 0 {
		t.Errorf("node-a not live still owns %v (announcer asked for %v)", c.Owned(), rec.last)
	}
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"gained", m.ownershipChanges.WithLabelValues("gained"), float64(withTwo)},
		{"lost", m.ownershipChanges.WithLabelValues("lost"), float64(withTwo)},
		{"joins", m.membershipChanges.WithLabelValues("join"), 3},
		{"leaves", m.membershipChanges.WithLabelValues("leave"), 2},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUnowned(t *testing.T) {
	ip := netip.MustParseAddr
	services := []Service{
		{IP: ip("192.0.2.1"), Nodes: []string{"node1", "node2"}},
		{IP: ip("192.0.2.2"), Nodes: []string{"node3"}},
		{IP: ip("2001:db8:200::1"), Nodes: nil},
	}
	tests := []struct {
		name string
		live []string
		want []netip.Addr
	}{
		{name: "all live", live: []string{"node1", "node2", "node3"}, want: []netip.Addr{ip("2001:db8:200::1")}},
		{name: "node3 gone", live: []string{"node1", "node2"}, want: []netip.Addr{ip("192.0.2.2"), ip("2001:db8:200::1")}},
		{name: "nobody live", live: nil, want: []netip.Addr{ip("192.0.2.1"), ip("192.0.2.2"), ip("2001:db8:200::1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Unowned(services, tt.live), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Unowned (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandoffs(t *testing.T) {
	nodes := []string{"node-a", "node-b", "node-c"}
	ip := netip.MustParseAddr("192.0.2.10")
	self := owner.Owner(ip, nodes)
	others := otherThan3(nodes, self)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	window := 700 * time.Millisecond
	answered := []Announcement{{IP: ip, Interfaces: []string{"eth1"}}}
	tests := []struct {
		name     string
		eligible []string
		live     []string
		handing  map[netip.Addr]Handoff
		now      time.Time
		want     map[netip.Addr]Handoff
	}{
		{name: "still the owner: nothing handed off", eligible: nodes, live: nodes, now: t0, want: map[netip.Addr]Handoff{}},
		{name: "no longer eligible (draining): handed off for the window", eligible: others, live: nodes, now: t0,
			want: map[netip.Addr]Handoff{ip: {Announcement: answered[0], Until: t0.Add(window)}}},
		{name: "not live (stopping): handed off", eligible: nodes, live: others, now: t0,
			want: map[netip.Addr]Handoff{ip: {Announcement: answered[0], Until: t0.Add(window)}}},
		{name: "a hand-off under way keeps its deadline", eligible: others, live: nodes, now: t0.Add(500 * time.Millisecond),
			handing: map[netip.Addr]Handoff{ip: {Announcement: answered[0], Until: t0.Add(window)}},
			want:    map[netip.Addr]Handoff{ip: {Announcement: answered[0], Until: t0.Add(window)}}},
		{name: "the hand-off is over", eligible: others, live: nodes, now: t0.Add(window),
			handing: map[netip.Addr]Handoff{ip: {Announcement: answered[0], Until: t0.Add(window)}},
			want:    map[netip.Addr]Handoff{}},
		{name: "lost to a node coming back while eligible and live: silent at once (the newcomer waits)",
			eligible: nodes, live: nodes, now: t0, want: map[netip.Addr]Handoff{}},
		{name: "no other node may answer: nothing to hand off to", eligible: []string{self}, live: others, now: t0,
			want: map[netip.Addr]Handoff{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Handoffs(self, answered, tc.handing, map[netip.Addr][]string{ip: tc.eligible}, tc.live, tc.now, window)
			if diff := cmp.Diff(tc.want, got, addrCmp); diff != "" {
				t.Errorf("Handoffs (-want +got):\n%s", diff)
			}
		})
	}
}

func otherThan3(nodes []string, n string) []string {
	var out []string
	for _, x := range nodes {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}
