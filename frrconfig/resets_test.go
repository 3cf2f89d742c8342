package frrconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSessionResets(t *testing.T) {
	nbr := func(c *Config, i int) *Neighbor { return &c.Routers[0].Neighbors[i] }
	tests := []struct {
		name   string
		before func(c *Config)
		change func(c *Config)
		want   []SessionReset
	}{
		{name: "no change", change: func(*Config) {}},
		{name: "prefixes, communities, local-pref, BFD and timers reset nothing", change: func(c *Config) {
			c.Routers[0].IPv4Networks = append(c.Routers[0].IPv4Networks, pfx("192.0.2.9/32"))
			nbr(c, 0).Advertise = append(nbr(c, 0).Advertise, adv("192.0.2.9/32"))
			nbr(c, 0).Advertise[0].Communities = []string{"65000:2"}
			nbr(c, 1).Advertise[0].LocalPref = u32(300)
			nbr(c, 0).BFD, nbr(c, 0).BFDProfile = false, ""
			nbr(c, 1).Timers = &Timers{Keepalive: 3, Hold: 9}
			nbr(c, 1).ConnectTime = 5
		}},
		{name: "the first IPv6 prefix with families set resets nothing", before: func(c *Config) {
			nbr(c, 1).Families = []string{FamilyIPv4, FamilyIPv6}
		}, change: func(c *Config) {
			nbr(c, 1).Advertise = append(nbr(c, 1).Advertise, adv("2001:db8:200::1/128"))
		}},
		{name: "the first IPv6 prefix without families resets the session", change: func(c *Config) {
			nbr(c, 1).Advertise = append(nbr(c, 1).Advertise, adv("2001:db8:200::1/128"))
		}, want: []SessionReset{{Neighbor: "198.51.100.2", Reason: "address families ipv4 → ipv4+ipv6 changed"}}},
		{name: "password", change: func(c *Config) { nbr(c, 0).Password = "s3cret" },
			want: []SessionReset{{Neighbor: "198.51.100.1", Reason: "password changed"}}},
		{name: "remote AS and port", change: func(c *Config) { nbr(c, 0).RemoteAS, nbr(c, 0).Port = "64999", 1179 },
			want: []SessionReset{{Neighbor: "198.51.100.1", Reason: "remote AS 64513 → 64999, port 179 → 1179 changed"}}},
		{name: "router ASN resets every session of the router", change: func(c *Config) { c.Routers[1].ASN = 64600 },
			want: []SessionReset{{VRF: "red", Neighbor: "198.51.100.1", Reason: "the router's ASN changed from 64512 to 64600"}}},
		{name: "removed and added neighbors are not resets", change: func(c *Config) {
			c.Routers[0].Neighbors[1].Address = addr("198.51.100.3")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, new := diffBase(), diffBase()
			if tc.before != nil {
				tc.before(old)
				tc.before(new)
			}
			tc.change(new)
			op, err := NewPlan(old)
			if err != nil {
				t.Fatal(err)
			}
			np, err := NewPlan(new)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, SessionResets(op, np)); d != "" {
				t.Errorf("SessionResets (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidateFamilies(t *testing.T) {
	c := diffBase()
	c.Routers[0].Neighbors[0].Families = []string{FamilyIPv4, "ipv5", FamilyIPv4}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad families")
	}
	for _, want := range []string{
		`routers[0].neighbors[0].families[1]: "ipv5" is not an address family`,
		`routers[0].neighbors[0].families[2]: "ipv4" is listed twice`,
		`routers[0].neighbors[0].advertise[3].prefix: 2001:db8:200::1/128 is ipv6 unicast, a family the neighbor is not activated in: add "ipv6"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate's error lacks %q:\n%v", want, err)
		}
	}
}
