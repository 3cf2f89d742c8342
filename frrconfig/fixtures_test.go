package frrconfig

import "net/netip"

func addr(s string) netip.Addr   { return netip.MustParseAddr(s) }
func pfx(s string) netip.Prefix  { return netip.MustParsePrefix(s) }
func u32(v uint32) *uint32       { return &v }
func adv(p string) Advertisement { return Advertisement{Prefix: pfx(p)} }
func pfxs(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = pfx(s)
	}
	return out
}
func advs(ss ...string) []Advertisement {
	out := make([]Advertisement, len(ss))
	for i, s := range ss {
		out[i] = adv(s)
	}
	return out
}

// goldenCase is a config the golden-file and real-FRR tests share.
type goldenCase struct {
	name string
	cfg  *Config
}

// goldenCases covers what frr.conf must express; every case is also loaded
// into real FRR by TestRenderMatchesFRR.
func goldenCases() []goldenCase {
	return []goldenCase{
		{"one_peer", &Config{Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors:    []Neighbor{{Address: addr("198.51.100.1"), RemoteAS: "64513", Advertise: advs("192.0.2.10/32")}},
		}}}},
		{"several_peers", &Config{RouteMapDelaySeconds: 1, Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32", "192.0.2.11/32", "192.0.2.12/32", "192.0.2.128/25"),
			Neighbors: []Neighbor{
				{Address: addr("198.51.100.2"), RemoteAS: "64514", Advertise: advs("192.0.2.12/32", "192.0.2.11/32")},
				{Address: addr("198.51.100.1"), RemoteAS: "64513", Advertise: advs("192.0.2.10/32", "192.0.2.128/25", "192.0.2.11/32")},
				{Address: addr("198.51.100.3"), RemoteAS: "64515"},
			},
		}}}},
		{"communities_and_local_pref", &Config{Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32", "192.0.2.4/32", "192.0.2.5/32", "192.0.2.6/32"),
			Neighbors: []Neighbor{{Address: addr("198.51.100.1"), RemoteAS: "internal", Advertise: []Advertisement{
				{Prefix: pfx("192.0.2.1/32"), Communities: []string{"65000:200", "65000:100", "no-export"}},
				{Prefix: pfx("192.0.2.2/32"), LargeCommunities: []string{"64512:2:1", "64512:1:1"}},
				{Prefix: pfx("192.0.2.3/32"), Communities: []string{"65000:100"}, LargeCommunities: []string{"4200000000:1:2"}},
				{Prefix: pfx("192.0.2.4/32"), LocalPref: u32(200)},
				{Prefix: pfx("192.0.2.5/32"), Communities: []string{"no-export", "65000:100", "65000:200", "65000:100"}, LocalPref: u32(50)},
				{Prefix: pfx("192.0.2.6/32")},
			}}},
		}}}},
		{"bfd_profiles", &Config{
			BFDProfiles: []BFDProfile{
				{Name: "fast", ReceiveInterval: 50, TransmitInterval: 60, DetectMultiplier: 5, EchoMode: true, EchoInterval: 40, PassiveMode: true, MinimumTTL: 250},
				{Name: "defaults", ReceiveInterval: 300, TransmitInterval: 300, DetectMultiplier: 3, EchoInterval: 50, MinimumTTL: 254},
				{Name: "slow-rx", ReceiveInterval: 2000},
			},
			Routers: []Router{{
				ASN: 64512, RouterID: addr("198.51.100.11"),
				IPv4Networks: pfxs("192.0.2.10/32"),
				Neighbors: []Neighbor{
					{Address: addr("198.51.100.1"), RemoteAS: "64513", BFD: true, BFDProfile: "fast", Advertise: advs("192.0.2.10/32")},
					{Address: addr("198.51.100.2"), RemoteAS: "64513", BFD: true},
				},
			}},
		}},
		{"unnumbered", &Config{Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32"), IPv6Networks: pfxs("2001:db8:200::10/128"),
			Neighbors: []Neighbor{
				{Interface: "eth1", RemoteAS: "external", Advertise: advs("192.0.2.10/32", "2001:db8:200::10/128")},
				{Interface: "eth0", RemoteAS: "64513"},
			},
		}}}},
		{"multihop", &Config{Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []Neighbor{{Address: addr("203.0.113.1"), RemoteAS: "64513", EBGPMultihop: 4, UpdateSource: "198.51.100.11", Port: 1179,
				Timers: &Timers{Keepalive: 10, Hold: 30}, ConnectTime: 5, Advertise: advs("192.0.2.10/32")}},
		}}}},
		{"vrf", &Config{LogLevel: "debugging", Routers: []Router{
			{ASN: 64512, VRF: "red", RouterID: addr("198.51.100.11"), IPv4Networks: pfxs("192.0.2.20/32"),
				Neighbors: []Neighbor{{Address: addr("198.51.100.1"), RemoteAS: "64513", Advertise: advs("192.0.2.20/32")}}},
			{ASN: 64512, RouterID: addr("198.51.100.11"), IPv4Networks: pfxs("192.0.2.10/32"),
				Neighbors: []Neighbor{{Address: addr("198.51.100.1"), RemoteAS: "64513", Advertise: advs("192.0.2.10/32")}}},
		}}},
		{"ipv6", &Config{Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv6Networks: pfxs("2001:db8:200::10/128", "2001:db8:200::11/128", "2001:db8:200:1::/64"),
			Neighbors: []Neighbor{{Address: addr("2001:db8:100::1"), RemoteAS: "64513", Advertise: []Advertisement{
				adv("2001:db8:200::10/128"), adv("2001:db8:200:1::/64"),
				{Prefix: pfx("2001:db8:200::11/128"), Communities: []string{"65000:6"}},
			}}},
		}}}},
		{"dual_stack", &Config{Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32"), IPv6Networks: pfxs("2001:db8:200::10/128"),
			Neighbors: []Neighbor{
				{Address: addr("198.51.100.1"), RemoteAS: "64513", Advertise: []Advertisement{
					{Prefix: pfx("192.0.2.10/32"), Communities: []string{"65000:4"}},
					{Prefix: pfx("2001:db8:200::10/128"), Communities: []string{"65000:6"}},
				}},
				{Address: addr("2001:db8:100::1"), RemoteAS: "64513", Advertise: advs("2001:db8:200::10/128")},
			},
		}}}},
		{"graceful_restart", &Config{Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []Neighbor{
				{Address: addr("198.51.100.1"), RemoteAS: "64513", GracefulRestart: true, Advertise: advs("192.0.2.10/32")},
				{Address: addr("198.51.100.2"), RemoteAS: "64513"},
			},
		}}}},
		// A draining node: the same announcements, sent with the
		// GRACEFUL_SHUTDOWN community to the eBGP peer and LOCAL_PREF 0 to
		// the iBGP one by bgpd itself.
		{"graceful_shutdown", &Config{RouteMapDelaySeconds: 1, Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"), GracefulShutdown: true,
			IPv4Networks: pfxs("192.0.2.10/32"),
			IPv6Networks: pfxs("2001:db8:200::10/128"),
			Neighbors: []Neighbor{
				{Address: addr("198.51.100.1"), RemoteAS: "64500", Families: []string{FamilyIPv4, FamilyIPv6},
					Advertise: []Advertisement{{Prefix: pfx("192.0.2.10/32"), Communities: []string{"65000:1"}}, adv("2001:db8:200::10/128")}},
				{Address: addr("198.51.100.2"), RemoteAS: "internal", Advertise: []Advertisement{{Prefix: pfx("192.0.2.10/32"), LocalPref: u32(200)}}},
			},
		}}}},
		{"passwords", &Config{LogLevel: "warnings", Routers: []Router{{
			ASN: 64512, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []Neighbor{
				{Address: addr("198.51.100.1"), RemoteAS: "64513", Password: `s3cr"e't#!\{x}`, Advertise: advs("192.0.2.10/32")},
				{Interface: "eth0", RemoteAS: "internal", Password: "plain"},
			},
		}}}},
	}
}
