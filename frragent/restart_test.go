package frragent

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/frrconfig"
)

// TestFreshTextIsTheDeferredRender checks that the frr.conf the agent
// writes (freshText of what it applied) is, line for line, the config
// rendered with every neighbor's BFD deferred: what a restarted bgpd must
// be given, in VRFs and for unnumbered neighbors too.
func TestFreshTextIsTheDeferredRender(t *testing.T) {
	adv := func(p string) []frrconfig.Advertisement {
		return []frrconfig.Advertisement{{Prefix: netip.MustParsePrefix(p)}}
	}
	cases := map[string]*frrconfig.Config{
		"no BFD": testConfig("192.0.2.10/32"),
		"BFD with and without a profile, VRF, unnumbered": {
			BFDProfiles: []frrconfig.BFDProfile{{Name: "fast", ReceiveInterval: 100, TransmitInterval: 100, DetectMultiplier: 3}},
			Routers: []frrconfig.Router{
				{ASN: 64512, RouterID: netip.MustParseAddr("203.0.113.11"), IPv4Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}, Neighbors: []frrconfig.Neighbor{
					{Address: netip.MustParseAddr("198.51.100.1"), RemoteAS: "64513", BFD: true, BFDProfile: "fast", Advertise: adv("192.0.2.10/32")},
					{Address: netip.MustParseAddr("198.51.100.2"), RemoteAS: "64513", BFD: true, Advertise: adv("192.0.2.10/32")},
					{Address: netip.MustParseAddr("198.51.100.3"), RemoteAS: "64513", Advertise: adv("192.0.2.10/32")},
					{Interface: "eth1", RemoteAS: "external", BFD: true, BFDProfile: "fast", Advertise: adv("192.0.2.10/32")},
				}},
				{ASN: 64512, VRF: "red", RouterID: netip.MustParseAddr("203.0.113.11"), IPv4Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.11/32")}, Neighbors: []frrconfig.Neighbor{
					{Address: netip.MustParseAddr("198.51.100.9"), RemoteAS: "64513", BFD: true, Advertise: adv("192.0.2.11/32")},
				}},
			},
		},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			full := render(t, cfg)
			deferred, _ := withBFDDeferred(cfg, nil)
			want := render(t, deferred)
			if diff := cmp.Diff(want, string(freshText([]byte(full)))); diff != "" {
				t.Errorf("freshText differs from the render with BFD deferred (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsNeighborBFD(t *testing.T) {
	for l, want := range map[string]bool{
		" neighbor 198.51.100.1 bfd\n":              true,
		" neighbor 198.51.100.1 bfd profile fast\n": true,
		" neighbor eth1 bfd":                        true,
		"bfd\n":                                     false,
		" profile fast\n":                           false,
		" neighbor 198.51.100.1 remote-as 64513\n":  false,
		" neighbor 198.51.100.1 bfd check-control-plane-failure\n": false,
		"neighbor 198.51.100.1 bfd\n":                              false,
	} {
		if got := isNeighborBFD([]byte(l)); got != want {
			t.Errorf("isNeighborBFD(%q) = %v, want %v", l, got, want)
		}
	}
}

// TestResetDefersBFD checks the bookkeeping of a reset neighbor's BFD: it
// no longer counts as connected until bgpd counts one more established
// session, and a count that starts again from 0 (bgpd restarted) voids
// the baseline.
func TestResetDefersBFD(t *testing.T) {
	a := &Agent{}
	n1 := neighborID{name: "198.51.100.1"}
	n2 := neighborID{vrf: "red", name: "198.51.100.2"}
	counts := map[neighborID]int{n1: 1, n2: 3}
	if got := a.connectedSince(counts); !got[n1] || !got[n2] {
		t.Fatalf("before any reset: connected %v, want both", got)
	}
	if !a.deferResetBFD([]frrconfig.SessionReset{{Neighbor: "198.51.100.1", Reason: "address families changed"}}, counts) {
		t.Fatal("deferResetBFD of a connected neighbor reported no change")
	}
	if a.deferResetBFD([]frrconfig.SessionReset{{Neighbor: "198.51.100.1"}}, counts) {
		t.Error("deferring the same neighbor again reported a change")
	}
	if a.deferResetBFD([]frrconfig.SessionReset{{Neighbor: "198.51.100.9"}}, counts) {
		t.Error("deferring an unknown neighbor reported a change")
	}
	for _, tc := range []struct {
		name   string
		counts map[neighborID]int
		n1     bool
	}{
		{"reset, new session not up yet", map[neighborID]int{n1: 1, n2: 3}, false},
		{"new session up", map[neighborID]int{n1: 2, n2: 3}, true},
		{"bgpd restarted: counts from 0", map[neighborID]int{n1: 0, n2: 0}, false},
		{"first session after the restart", map[neighborID]int{n1: 1, n2: 1}, true},
	} {
		got := a.connectedSince(tc.counts)
		if got[n1] != tc.n1 || got[n2] != (tc.counts[n2] > 0) {
			t.Errorf("%s: connected %v, want %v for %s", tc.name, got, tc.n1, n1.name)
		}
	}
}

// TestRestartForgetsBaseline: a neighbor reset (baseline 1) under one bgpd,
// then bgpd restarts and the agent first looks once the neighbor's first
// new session is up (count 1 again). The neighbor counts as connected: the
// baseline belonged to the old bgpd. Before, its BFD waited for a second
// session for ever (make e2e-node: BFD never up again after a bgpd kill).
func TestRestartForgetsBaseline(t *testing.T) {
	dir := t.TempDir()
	writePID := func(pid string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "bgpd.pid"), []byte(pid+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := &Agent{vtyDir: dir}
	n1 := neighborID{name: "198.51.100.1"}
	writePID("100")
	if !a.deferResetBFD([]frrconfig.SessionReset{{Neighbor: n1.name}}, map[neighborID]int{n1: 1}) {
		t.Fatal("deferResetBFD of a connected neighbor reported no change")
	}
	a.forgetStaleBaseline()
	if a.connectedSince(map[neighborID]int{n1: 1})[n1] {
		t.Fatal("same bgpd, no new session: counted as connected")
	}
	writePID("200")
	a.forgetStaleBaseline()
	if !a.connectedSince(map[neighborID]int{n1: 1})[n1] {
		t.Error("restarted bgpd with its first session up: not counted as connected")
	}
}
