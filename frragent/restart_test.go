package frragent

import (
	"net/netip"
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
