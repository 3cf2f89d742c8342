package frrconfig

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// diffBase is the config the Diff cases start from: two routers, three
// neighbors (one unnumbered), communities, local-pref, a BFD profile.
func diffBase() *Config {
	return &Config{
		BFDProfiles: []BFDProfile{{Name: "fast", ReceiveInterval: 100, TransmitInterval: 100}, {Name: "spare"}},
		Routers: []Router{
			{
				ASN: 64512, RouterID: addr("198.51.100.11"),
				IPv4Networks: pfxs("192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32"),
				IPv6Networks: pfxs("2001:db8:200::1/128"),
				Neighbors: []Neighbor{
					{Address: addr("198.51.100.1"), RemoteAS: "64513", BFD: true, BFDProfile: "fast", Advertise: []Advertisement{
						{Prefix: pfx("192.0.2.1/32"), Communities: []string{"65000:1"}},
						{Prefix: pfx("192.0.2.2/32"), Communities: []string{"65000:1"}},
						{Prefix: pfx("192.0.2.3/32"), LargeCommunities: []string{"64512:1:1"}},
						{Prefix: pfx("2001:db8:200::1/128")},
					}},
					{Address: addr("198.51.100.2"), RemoteAS: "internal", Advertise: []Advertisement{
						{Prefix: pfx("192.0.2.1/32"), LocalPref: u32(100)},
						{Prefix: pfx("192.0.2.2/32"), LocalPref: u32(100)},
					}},
					{Interface: "eth1", RemoteAS: "external", Advertise: advs("192.0.2.3/32")},
				},
			},
			{ASN: 64512, VRF: "red", IPv4Networks: pfxs("192.0.2.20/32"),
				Neighbors: []Neighbor{{Address: addr("198.51.100.1"), RemoteAS: "64513", Advertise: advs("192.0.2.20/32")}}},
		},
	}
}

// diffCase is a change Diff must turn into commands.
type diffCase struct {
	name string
	// before, when set, changes the base config into the old one.
	before func(c *Config)
	change func(c *Config)
	// want, when set, is the exact command list; every case is also
	// applied to real FRR by TestDiffOnFRR.
	want []string
}

func diffCases() []diffCase {
	nbr := func(c *Config, i int) *Neighbor { return &c.Routers[0].Neighbors[i] }
	return []diffCase{
		{name: "no change", change: func(*Config) {}, want: []string{}},
		{name: "graceful shutdown on", change: func(c *Config) { c.Routers[0].GracefulShutdown = true }, want: []string{
			// The announcements stay; bgpd sends them again with 65535:0.
			"router bgp 64512",
			"bgp graceful-shutdown",
			"exit",
		}},
		{name: "graceful shutdown on, then the prefixes withdrawn", change: func(c *Config) {
			*c = Withdrawn(c)
			c.Routers[0].GracefulShutdown = true
		}, want: nil},
		{name: "prefix added", change: func(c *Config) {
			c.Routers[0].IPv4Networks = append(c.Routers[0].IPv4Networks, pfx("192.0.2.4/32"))
			nbr(c, 0).Advertise = append(nbr(c, 0).Advertise, Advertisement{Prefix: pfx("192.0.2.4/32"), Communities: []string{"65000:1"}})
			nbr(c, 1).Advertise = append(nbr(c, 1).Advertise, Advertisement{Prefix: pfx("192.0.2.4/32"), LocalPref: u32(100)})
		}, want: []string{
			// 192.0.2.4 joins the class of 192.0.2.1 and .2: one line.
			"router bgp 64512",
			"address-family ipv4 unicast",
			"network 192.0.2.4/32 route-map herald-class-2277418257",
			"exit-address-family",
			"exit",
		}},
		{name: "prefix added with new attributes", change: func(c *Config) {
			c.Routers[0].IPv4Networks = append(c.Routers[0].IPv4Networks, pfx("192.0.2.4/32"))
			nbr(c, 0).Advertise = append(nbr(c, 0).Advertise, Advertisement{Prefix: pfx("192.0.2.4/32"), Communities: []string{"65000:9"}})
		}, want: []string{
			// A new class: its route-map and the neighbor's entry first.
			"route-map 198.51.100.1-out permit 45380",
			"match tag 3119594847",
			"set community 65000:9",
			"exit",
			"route-map herald-class-3119594847 permit 1",
			"set tag 3119594847",
			"exit",
			"router bgp 64512",
			"address-family ipv4 unicast",
			"network 192.0.2.4/32 route-map herald-class-3119594847",
			"exit-address-family",
			"exit",
		}},
		{name: "prefix removed", change: func(c *Config) {
			c.Routers[0].IPv4Networks = pfxs("192.0.2.1/32", "192.0.2.3/32")
			nbr(c, 0).Advertise = append(nbr(c, 0).Advertise[:1], nbr(c, 0).Advertise[2:]...)
			nbr(c, 1).Advertise = nbr(c, 1).Advertise[:1]
		}, want: []string{
			"router bgp 64512",
			"address-family ipv4 unicast",
			"no network 192.0.2.2/32",
			"exit-address-family",
			"exit",
		}},
		{name: "communities moved to an existing group", change: func(c *Config) {
			nbr(c, 0).Advertise[2] = Advertisement{Prefix: pfx("192.0.2.3/32"), Communities: []string{"65000:1"}}
		}},
		{name: "communities changed to a new group", change: func(c *Config) {
			nbr(c, 0).Advertise[1].Communities = []string{"65000:2", "no-export"}
			nbr(c, 0).Advertise[1].LargeCommunities = []string{"64512:9:9"}
		}},
		{name: "local-pref changed", change: func(c *Config) {
			nbr(c, 1).Advertise[0].LocalPref = u32(300)
			nbr(c, 1).Advertise[1].LocalPref = u32(300)
		}},
		{name: "ipv6 prefix added", change: func(c *Config) {
			c.Routers[0].IPv6Networks = append(c.Routers[0].IPv6Networks, pfx("2001:db8:200::2/128"))
			nbr(c, 0).Advertise = append(nbr(c, 0).Advertise, adv("2001:db8:200::2/128"))
		}},
		{name: "vrf prefix added", change: func(c *Config) {
			c.Routers[1].IPv4Networks = append(c.Routers[1].IPv4Networks, pfx("192.0.2.21/32"))
			c.Routers[1].Neighbors[0].Advertise = append(c.Routers[1].Neighbors[0].Advertise, adv("192.0.2.21/32"))
		}},
		{name: "neighbor added", change: func(c *Config) {
			c.Routers[0].Neighbors = append(c.Routers[0].Neighbors, Neighbor{
				Address: addr("198.51.100.3"), RemoteAS: "64515", Password: "p?w!#x", Timers: &Timers{Keepalive: 5, Hold: 15},
				BFD: true, BFDProfile: "fast",
				Advertise: []Advertisement{{Prefix: pfx("192.0.2.1/32"), Communities: []string{"65000:3"}}, adv("2001:db8:200::1/128")},
			})
		}},
		{name: "neighbor removed", change: func(c *Config) {
			// Every class held the neighbor: each prefix moves to a new
			// class, the one nobody else receives loses its route-map.
			c.Routers[0].Neighbors = c.Routers[0].Neighbors[1:]
		}},
		{name: "unnumbered neighbor removed", change: func(c *Config) {
			c.Routers[0].Neighbors = c.Routers[0].Neighbors[:2]
		}},
		{name: "bfd profile changed", change: func(c *Config) {
			c.BFDProfiles[0] = BFDProfile{Name: "fast", ReceiveInterval: 50, DetectMultiplier: 4, EchoMode: true, PassiveMode: true}
		}, want: []string{
			"bfd", "profile fast", "detect-multiplier 4", "transmit-interval 300", "receive-interval 50",
			"passive-mode", "echo-mode", "echo transmit-interval 50", "echo receive-interval 50", "minimum-ttl 254",
			"exit", "exit",
		}},
		{name: "bfd profile added and removed", change: func(c *Config) {
			c.BFDProfiles[1] = BFDProfile{Name: "slow", ReceiveInterval: 1000, TransmitInterval: 1000, MinimumTTL: 200}
		}, want: []string{
			"bfd", "profile slow", "detect-multiplier 3", "transmit-interval 1000", "receive-interval 1000",
			"no passive-mode", "no echo-mode", "echo transmit-interval 50", "echo receive-interval 50", "minimum-ttl 200",
			"exit", "exit",
			"bfd", "no profile spare", "exit",
		}},
		{name: "prefix leaves every neighbor but stays a network", before: func(c *Config) {
			c.Routers[0].IPv4Networks = append(c.Routers[0].IPv4Networks, pfx("192.0.2.5/32"))
			nbr(c, 1).Advertise = append(nbr(c, 1).Advertise, Advertisement{Prefix: pfx("192.0.2.5/32"), LocalPref: u32(50)})
		}, change: func(c *Config) {
			nbr(c, 1).Advertise = nbr(c, 1).Advertise[:2]
		}, want: []string{
			// The network loses its route-map, then the class goes.
			"router bgp 64512",
			"address-family ipv4 unicast",
			"network 192.0.2.5/32",
			"exit-address-family",
			"exit",
			"no route-map 198.51.100.2-out permit 15684",
			"no route-map herald-class-299440529",
		}},
		{name: "neighbor bfd turned off", change: func(c *Config) {
			nbr(c, 0).BFD, nbr(c, 0).BFDProfile = false, ""
		}, want: []string{"router bgp 64512", "no neighbor 198.51.100.1 bfd", "exit"}},
		{name: "neighbor bfd profile changed", change: func(c *Config) {
			nbr(c, 0).BFDProfile = "spare"
		}, want: []string{"router bgp 64512", "no neighbor 198.51.100.1 bfd", "neighbor 198.51.100.1 bfd", "neighbor 198.51.100.1 bfd profile spare", "exit"}},
		{name: "neighbor bfd turned on with the last profile removed", before: func(c *Config) {
			nbr(c, 0).BFD, nbr(c, 0).BFDProfile = false, ""
		}, change: func(c *Config) {
			nbr(c, 1).BFD = true
			c.BFDProfiles = c.BFDProfiles[:0]
		}},
		{name: "neighbor family added", change: func(c *Config) {
			nbr(c, 1).Families = []string{FamilyIPv4, FamilyIPv6}
		}, want: []string{
			"router bgp 64512",
			"address-family ipv6 unicast",
			"neighbor 198.51.100.2 activate",
			"neighbor 198.51.100.2 route-map 198.51.100.2-in in",
			"neighbor 198.51.100.2 route-map 198.51.100.2-out out",
			"exit-address-family",
			"exit",
		}},
		{name: "neighbor family removed", change: func(c *Config) {
			nbr(c, 0).Advertise = nbr(c, 0).Advertise[:3]
			nbr(c, 0).Families = []string{FamilyIPv4}
			c.Routers[0].IPv6Networks = nil
		}},
		{name: "first prefix of a family keeps the families", before: func(c *Config) {
			for i := range c.Routers[0].Neighbors {
				nbr(c, i).Families = []string{FamilyIPv4, FamilyIPv6}
			}
		}, change: func(c *Config) {
			c.Routers[0].IPv6Networks = append(c.Routers[0].IPv6Networks, pfx("2001:db8:200::2/128"))
			nbr(c, 1).Advertise = append(nbr(c, 1).Advertise, adv("2001:db8:200::2/128"))
		}},
		{name: "last prefix of a family keeps the families", before: func(c *Config) {
			for i := range c.Routers[0].Neighbors {
				nbr(c, i).Families = []string{FamilyIPv4, FamilyIPv6}
			}
		}, change: func(c *Config) {
			nbr(c, 0).Advertise = nbr(c, 0).Advertise[:3]
			c.Routers[0].IPv6Networks = nil
		}},
		{name: "log level", change: func(c *Config) { c.LogLevel = "debugging" }, want: []string{"log stdout"}},
		{name: "route-map delay", change: func(c *Config) { c.RouteMapDelaySeconds = 1 }, want: []string{"bgp route-map delay-timer 1"}},
		{name: "route-map delay back to default", before: func(c *Config) { c.RouteMapDelaySeconds = 2 },
			change: func(c *Config) { c.RouteMapDelaySeconds = 0 }, want: []string{"bgp route-map delay-timer 5"}},
	}
}

// configs returns the case's old and new configs.
func (tc diffCase) configs() (old, new *Config) {
	old, new = diffBase(), diffBase()
	if tc.before != nil {
		tc.before(old)
		tc.before(new)
	}
	tc.change(new)
	return old, new
}

func TestDiff(t *testing.T) {
	for _, tc := range diffCases() {
		t.Run(tc.name, func(t *testing.T) {
			old, new := tc.configs()
			got, err := Diff(old, new)
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			if tc.want != nil {
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("Diff commands (-want +got):\n%s", d)
				}
			}
			if len(got) == 0 && tc.name != "no change" {
				t.Errorf("Diff gave no commands for a change")
			}
		})
	}
}

func TestDiffNeedsReload(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
	}{
		{"router asn", func(c *Config) { c.Routers[0].ASN = 64600 }},
		{"router id", func(c *Config) { c.Routers[0].RouterID = addr("198.51.100.12") }},
		{"router added", func(c *Config) { c.Routers = append(c.Routers, Router{ASN: 64512, VRF: "blue"}) }},
		{"router removed", func(c *Config) { c.Routers = c.Routers[:1] }},
		{"router vrf renamed", func(c *Config) { c.Routers[1].VRF = "blue" }},
		{"password", func(c *Config) { c.Routers[0].Neighbors[0].Password = "new" }},
		{"remote-as", func(c *Config) { c.Routers[0].Neighbors[0].RemoteAS = "external" }},
		{"timers", func(c *Config) { c.Routers[0].Neighbors[0].Timers = &Timers{Keepalive: 1, Hold: 3} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			new := diffBase()
			tc.change(new)
			got, err := Diff(diffBase(), new)
			if !errors.Is(err, ErrNeedsReload) {
				t.Fatalf("Diff = %q, %v; want an error wrapping ErrNeedsReload", got, err)
			}
		})
	}
}

func TestDiffRejectsInvalid(t *testing.T) {
	bad := diffBase()
	bad.Routers[0].Neighbors[0].Password = "has space"
	var verr *ValidationError
	if _, err := Diff(diffBase(), bad); !errors.As(err, &verr) {
		t.Fatalf("Diff(valid, invalid) = %v, want a *ValidationError", err)
	}
	if _, err := Diff(bad, diffBase()); !errors.As(err, &verr) {
		t.Fatalf("Diff(invalid, valid) = %v, want a *ValidationError", err)
	}
}
