package frrconfig

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateAcceptsGoldenConfigs(t *testing.T) {
	for _, tc := range goldenCases() {
		if err := tc.cfg.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := &Config{
		LogLevel:             "verbose",
		RouteMapDelaySeconds: 601,
		BFDProfiles:          []BFDProfile{{Name: "a b", ReceiveInterval: 5, DetectMultiplier: 1, MinimumTTL: 255}, {Name: "dup"}, {Name: "dup", EchoInterval: 70000}},
		Routers: []Router{
			{
				ASN: 0, VRF: "default", RouterID: addr("2001:db8::1"),
				IPv4Networks: []netip.Prefix{pfx("192.0.2.1/24"), pfx("2001:db8::/64"), pfx("192.0.2.0/32"), pfx("192.0.2.0/32")},
				IPv6Networks: []netip.Prefix{pfx("192.0.2.0/24"), {}},
				Neighbors: []Neighbor{
					{RemoteAS: "64513"},
					{Address: addr("198.51.100.1"), Interface: "eth0", RemoteAS: "65536x"},
					{Address: addr("198.51.100.2"), RemoteAS: "internal", EBGPMultihop: 2, Timers: &Timers{Keepalive: 1, Hold: 2},
						Password: "has space", UpdateSource: "not an interface", BFDProfile: "missing"},
					{Interface: "1eth", RemoteAS: "external", UpdateSource: "198.51.100.11", EBGPMultihop: 1},
					{Address: addr("fe80::1%eth0"), RemoteAS: "0"},
					{Address: addr("198.51.100.2"), RemoteAS: "64513", Advertise: []Advertisement{
						{Prefix: pfx("192.0.2.99/32")},
						{Prefix: pfx("192.0.2.0/32"), Communities: []string{"65000:1", "65535:1", "1:2:3"}, LargeCommunities: []string{"1:2"}},
						{Prefix: pfx("192.0.2.0/32")},
						{Prefix: pfx("192.0.2.7/24")},
					}},
				},
			},
			{ASN: 64512, VRF: "default"},
		},
	}
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	var fields []string
	for _, f := range verr.Fields {
		fields = append(fields, f.Field)
		if f.Problem == "" {
			t.Errorf("%s: empty problem", f.Field)
		}
	}
	want := []string{
		"logLevel",
		"routeMapDelaySeconds",
		"bfdProfiles[0].name",
		"bfdProfiles[0].receiveInterval",
		"bfdProfiles[0].detectMultiplier",
		"bfdProfiles[0].minimumTtl",
		"bfdProfiles[2].echoInterval",
		"bfdProfiles[2].name",
		"routers[0].asn",
		"routers[0].vrf",
		"routers[0].routerID",
		"routers[0].ipv4Networks[0]",
		"routers[0].ipv4Networks[1]",
		"routers[0].ipv4Networks[3]",
		"routers[0].ipv6Networks[0]",
		"routers[0].ipv6Networks[1]",
		"routers[0].neighbors[0]",
		"routers[0].neighbors[1]",
		"routers[0].neighbors[1].remoteAS",
		"routers[0].neighbors[2].timers.hold",
		"routers[0].neighbors[2].password",
		"routers[0].neighbors[2].updateSource",
		"routers[0].neighbors[2].ebgpMultihop",
		"routers[0].neighbors[2].bfdProfile",
		"routers[0].neighbors[2].bfdProfile",
		"routers[0].neighbors[3].interface",
		"routers[0].neighbors[3].updateSource",
		"routers[0].neighbors[3].ebgpMultihop",
		"routers[0].neighbors[4].address",
		"routers[0].neighbors[4].remoteAS",
		"routers[0].neighbors[5].advertise[0].prefix",
		"routers[0].neighbors[5].advertise[1].communities[1]",
		"routers[0].neighbors[5].advertise[1].communities[2]",
		"routers[0].neighbors[5].advertise[1].largeCommunities[0]",
		"routers[0].neighbors[5].advertise[2].prefix",
		"routers[0].neighbors[5].advertise[3].prefix",
		"routers[0].neighbors[5]",
		"routers[1].vrf",
		"routers[1].vrf",
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("fields with problems (-want +got):\n%s\nerror: %v", diff, err)
	}
	if strings.Contains(err.Error(), "has space") {
		t.Errorf("the error quotes the password: %v", err)
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	for _, tc := range goldenCases() {
		b, err := json.Marshal(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, b)
		}
		want, _ := Render(tc.cfg)
		got, err := Render(&back)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s: the config renders differently after a JSON round trip:\n%s", tc.name, diff)
		}
	}
}
