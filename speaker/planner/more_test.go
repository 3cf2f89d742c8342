package planner

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/ipam"
)

var cmpAddrs = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// ignoreFamilies leaves neighbors' address families out of a comparison:
// TestPlanFamilies is where they are checked.
var ignoreFamilies = cmpopts.IgnoreFields(frrconfig.Neighbor{}, "Families")

// TestLastGood: an object broken by an edit keeps announcing its last good
// version, and a fixed object replaces it.
func TestLastGood(t *testing.T) {
	s := base()
	s.BFDProfiles = []v1beta1.BFDProfile{{ObjectMeta: meta("fast"), Spec: v1beta1.BFDProfileSpec{ReceiveInterval: u32(50)}}}
	s.Peers[0].Spec.BFDProfile = "fast"
	s.Communities = []v1beta1.Community{{ObjectMeta: meta("c"), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "tag", Value: "64512:1"}}}}}
	s.BGPAdvertisements[0].Spec.Communities = []v1beta1.CommunityOrAlias{"tag"}
	good := Plan(&s, "node1")
	if len(good.Problems) != 0 {
		t.Fatalf("unexpected problems: %v", good.Problems)
	}

	// Someone deletes the BFD profile and misspells the alias.
	broken := base()
	broken.Peers[0].Spec.BFDProfile = "fast"
	broken.Communities = s.Communities
	broken.BGPAdvertisements[0].Spec.Communities = []v1beta1.CommunityOrAlias{"tga"}
	broken.Services = append(broken.Services, svc("new", corev1.ServiceExternalTrafficPolicyCluster, "192.0.2.11"))
	broken.LastGood = good.LastGood
	got := Plan(&broken, "node1")
	want := frrconfig.Config{
		Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32", "192.0.2.11/32"),
			Neighbors: []frrconfig.Neighbor{{Address: addr("198.51.100.1"), RemoteAS: "64500", Timers: &frrconfig.Timers{Keepalive: 3, Hold: 9},
				BFD: true, BFDProfile: "fast", Advertise: []frrconfig.Advertisement{
					{Prefix: pfx("192.0.2.10/32"), Communities: []string{"64512:1"}},
					{Prefix: pfx("192.0.2.11/32"), Communities: []string{"64512:1"}},
				}}}}},
		BFDProfiles: []frrconfig.BFDProfile{{Name: "fast", ReceiveInterval: 50}},
	}
	if diff := cmp.Diff(want, got.Config, cmpAddrs, ignoreFamilies, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config with last good versions (-want +got):\n%s", diff)
	}
	wantProbs := []problemKey{
		{KindBGPAdvertisement, "all", "spec.communities[0]", ReasonUnknownCommunity, keepEffect},
		{KindBGPPeer, "router", "spec.bfdProfile", ReasonUnknownBFDProfile, keepEffect},
	}
	if diff := cmp.Diff(wantProbs, keysOf(got.Problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}

	// Fixed: the new version replaces the last good one.
	fixed := base()
	fixed.LastGood = got.LastGood
	got = Plan(&fixed, "node1")
	if diff := cmp.Diff(base0(), got.Config, cmpAddrs, ignoreFamilies, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config after the fix (-want +got):\n%s", diff)
	}
}

// base0 is the config base() plans for node1.
func base0() frrconfig.Config {
	return frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
		Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}}
}

func TestPlanL2(t *testing.T) {
	local := corev1.ServiceExternalTrafficPolicyLocal
	cluster := corev1.ServiceExternalTrafficPolicyCluster
	l2 := func(name string, mod ...func(*v1beta1.L2AdvertisementSpec)) v1beta1.L2Advertisement {
		a := v1beta1.L2Advertisement{ObjectMeta: meta(name)}
		for _, m := range mod {
			m(&a.Spec)
		}
		return a
	}
	tests := []struct {
		name string
		mod  func(*Snapshot)
		node string
		want []L2Service
	}{{
		name: "no L2Advertisement, no L2",
		node: "node1",
	}, {
		name: "every node is eligible; dual-stack gives two IPs",
		mod: func(s *Snapshot) {
			s.L2Advertisements = []v1beta1.L2Advertisement{l2("all")}
			s.Services = []corev1.Service{svc("web", cluster, "192.0.2.10", "2001:db8:200::10")}
		},
		node: "node1",
		want: []L2Service{
			{IP: addr("192.0.2.10"), Services: []string{"default/web"}, Nodes: []string{"node1", "node2", "node3"}},
			{IP: addr("2001:db8:200::10"), Services: []string{"default/web"}, Nodes: []string{"node1", "node2", "node3"}},
		},
	}, {
		name: "nodeSelectors, excluded and network-unavailable nodes, interfaces of the advertisements selecting this node",
		mod: func(s *Snapshot) {
			s.Nodes = append(s.Nodes, node("node4", ExcludeLabel, ""), node("node5"))
			s.Nodes[4].Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue}}
			s.L2Advertisements = []v1beta1.L2Advertisement{
				l2("a", func(a *v1beta1.L2AdvertisementSpec) {
					a.NodeSelectors = hostSel("node1")
					a.Interfaces = []v1beta1.InterfaceName{"eth1"}
				}),
				l2("b", func(a *v1beta1.L2AdvertisementSpec) {
					a.Interfaces = []v1beta1.InterfaceName{"eth2"}
					a.IPAddressPools = []string{"lab"}
				}),
			}
		},
		node: "node1",
		want: []L2Service{{IP: addr("192.0.2.10"), Services: []string{"default/web"}, Nodes: []string{"node1", "node2", "node3"}, Interfaces: []string{"eth1", "eth2"}}},
	}, {
		name: "Local: only nodes with a ready endpoint",
		mod: func(s *Snapshot) {
			s.L2Advertisements = []v1beta1.L2Advertisement{l2("all")}
			s.Services = []corev1.Service{svc("web", local, "192.0.2.10")}
			s.EndpointSlices = append(s.EndpointSlices, slice("web", "node2", true, "node3", false))
		},
		node: "node1",
		want: []L2Service{{IP: addr("192.0.2.10"), Services: []string{"default/web"}, Nodes: []string{"node2"}}},
	}, {
		name: "pool not selected",
		mod: func(s *Snapshot) {
			s.L2Advertisements = []v1beta1.L2Advertisement{l2("x", func(a *v1beta1.L2AdvertisementSpec) { a.IPAddressPools = []string{"other"} })}
			s.Pools = append(s.Pools, poolObj("other", "203.0.113.0/28"))
		},
		node: "node1",
	}, {
		name: "two Services sharing an IP",
		mod: func(s *Snapshot) {
			s.L2Advertisements = []v1beta1.L2Advertisement{l2("all")}
			s.Services = append(s.Services, svc("web-udp", cluster, "192.0.2.10"))
		},
		node: "node2",
		want: []L2Service{{IP: addr("192.0.2.10"), Services: []string{"default/web", "default/web-udp"}, Nodes: []string{"node1", "node2", "node3"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			if tt.mod != nil {
				tt.mod(&s)
			}
			got := Plan(&s, tt.node)
			if diff := cmp.Diff(tt.want, got.L2, cmpAddrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("L2 (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	s := base()
	s.Peers = append(s.Peers, peer("n2", "198.51.100.2", 64512, 64512, func(p *v1beta1.BGPPeerSpec) {
		p.NodeSelectors = hostSel("node2")
		p.PasswordSecret = &corev1.SecretReference{Name: "pw"}
	}))
	s.Secrets = []corev1.Secret{{ObjectMeta: meta("pw"), Data: map[string][]byte{"password": []byte("bad password")}}}
	// A conflict that exists only on node3.
	s.Peers = append(s.Peers, peer("n3", "198.51.100.3", 64512, 64512, func(p *v1beta1.BGPPeerSpec) { p.NodeSelectors = hostSel("node3") }))
	s.BGPAdvertisements[0].Spec.LocalPref = 10
	s.BGPAdvertisements = append(s.BGPAdvertisements, adv("z", func(a *v1beta1.BGPAdvertisementSpec) {
		a.LocalPref = 20
		a.NodeSelectors = hostSel("node3")
	}), adv("pools", func(a *v1beta1.BGPAdvertisementSpec) { a.IPAddressPools = []string{"nope"} }))
	s.L2Advertisements = []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"nope"}}}}
	got := Validate(&s)
	want := []problemKey{
		{KindBGPAdvertisement, "all", "spec.localPref", ReasonLocalPrefConflict, "announcing it with localPref 10 from BGPAdvertisement all, whose name sorts first"},
		{KindBGPAdvertisement, "pools", "spec.ipAddressPools[0]", ReasonUnknownPool, "the other pools are announced"},
		{KindBGPAdvertisement, "z", "spec.localPref", ReasonLocalPrefConflict, "announcing it with localPref 10 from BGPAdvertisement all, whose name sorts first"},
		{KindBGPPeer, "n2", "spec.passwordSecret", ReasonInvalidPeer, statusEffect},
		{KindL2Advertisement, "l2", "spec.ipAddressPools[0]", ReasonUnknownPool, "the other pools are announced"},
	}
	if diff := cmp.Diff(want, keysOf(got)); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, got)
	}
	for _, p := range got {
		if strings.Contains(p.String(), "bad password") {
			t.Errorf("a problem shows the password: %s", p)
		}
		if p.Message == "" || !strings.Contains(p.Message, ":") {
			t.Errorf("problem %s has no fix in its message", p)
		}
	}
}

func TestLowestMask(t *testing.T) {
	tests := []struct {
		entry string
		want  int
	}{
		{"192.0.2.0/24", 24},
		{"192.0.2.64-192.0.2.95", 27},
		{"192.0.2.1-192.0.2.6", 31},
		{"192.0.2.7-192.0.2.7", 32},
		{"192.0.2.0-192.0.2.255", 24},
		{"2001:db8:200::/64", 64},
		{"2001:db8::1-2001:db8::ffff", 113},
		{"0.0.0.0/0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			r, err := ipam.ParseRange(tt.entry)
			if err != nil {
				t.Fatal(err)
			}
			if got := lowestMask(r); got != tt.want {
				t.Errorf("lowestMask(%s) = %d, want %d", tt.entry, got, tt.want)
			}
		})
	}
}
