package planner

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
)

// problemKey is what the tests compare of a Problem.
type problemKey struct{ Kind, Name, Field, Reason, Effect string }

func keysOf(ps []Problem) []problemKey {
	var out []problemKey
	for _, p := range ps {
		out = append(out, problemKey{p.Kind, p.Name, p.Field, p.Reason, p.Effect})
	}
	return out
}

func TestPlanBGP(t *testing.T) {
	local := corev1.ServiceExternalTrafficPolicyLocal
	cluster := corev1.ServiceExternalTrafficPolicyCluster
	tests := []struct {
		name     string
		mod      func(s *Snapshot)
		node     string
		want     frrconfig.Config
		problems []problemKey
	}{{
		name: "one peer, one service",
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
	}, {
		name: "peer nodeSelectors: a node not selected opens nothing",
		mod: func(s *Snapshot) {
			s.Peers[0].Spec.NodeSelectors = hostSel("node2")
		},
		node: "node1",
		want: frrconfig.Config{},
	}, {
		name: "peer nodeSelectors: the selected node opens it",
		mod: func(s *Snapshot) {
			s.Peers[0].Spec.NodeSelectors = hostSel("node2")
		},
		node: "node2",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
	}, {
		name: "dual-stack service and an IPv6 peer",
		mod: func(s *Snapshot) {
			s.Services = []corev1.Service{svc("web", cluster, "192.0.2.10", "2001:db8:200::10")}
			s.Peers = append(s.Peers, peer("router6", "2001:db8:100::1", 64512, 64500))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512,
			IPv4Networks: pfxs("192.0.2.10/32"), IPv6Networks: pfxs("2001:db8:200::10/128"),
			Neighbors: []frrconfig.Neighbor{
				ebgp("198.51.100.1", "64500", plain("192.0.2.10/32", "2001:db8:200::10/128")...),
				ebgp("2001:db8:100::1", "64500", plain("192.0.2.10/32", "2001:db8:200::10/128")...),
			}}}},
	}, {
		name: "advertisement names a pool: other pools are not announced",
		mod: func(s *Snapshot) {
			s.Pools = append(s.Pools, poolObj("other", "203.0.113.0/28"))
			s.Services = append(s.Services, svc("other", cluster, "203.0.113.5"))
			s.BGPAdvertisements[0].Spec.IPAddressPools = []string{"other"}
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("203.0.113.5/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("203.0.113.5/32")...)}}}},
	}, {
		name: "advertisement selects pools by label",
		mod: func(s *Snapshot) {
			s.Pools = append(s.Pools, poolObj("other", "203.0.113.0/28"))
			s.Pools[1].Labels = map[string]string{"tier": "gold"}
			s.Services = append(s.Services, svc("other", cluster, "203.0.113.5"))
			s.BGPAdvertisements[0].Spec.IPAddressPoolSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "gold"}}}
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("203.0.113.5/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("203.0.113.5/32")...)}}}},
	}, {
		name: "advertisement peers: only the named peer receives the prefix",
		mod: func(s *Snapshot) {
			s.Peers = append(s.Peers, peer("router2", "198.51.100.2", 64512, 64501))
			s.BGPAdvertisements[0].Spec.Peers = []string{"router2"}
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{
				ebgp("198.51.100.1", "64500"),
				ebgp("198.51.100.2", "64501", plain("192.0.2.10/32")...),
			}}}},
	}, {
		name: "advertisement nodeSelectors: other nodes keep the session, announce nothing",
		mod: func(s *Snapshot) {
			s.BGPAdvertisements[0].Spec.NodeSelectors = hostSel("node2")
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512,
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500")}}}},
	}, {
		name: "aggregation length rolls addresses up into one prefix",
		mod: func(s *Snapshot) {
			s.Services = append(s.Services, svc("web2", cluster, "192.0.2.20"), svc("web3", cluster, "2001:db8:200::5"))
			s.BGPAdvertisements[0].Spec.AggregationLength = i32(26)
			s.BGPAdvertisements[0].Spec.AggregationLengthV6 = i32(64)
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512,
			IPv4Networks: pfxs("192.0.2.0/26"), IPv6Networks: pfxs("2001:db8:200::/64"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.0/26", "2001:db8:200::/64")...)}}}},
	}, {
		name: "communities: values, aliases, large, well-known; two advertisements add up",
		mod: func(s *Snapshot) {
			s.Communities = []v1beta1.Community{{ObjectMeta: meta("c"), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{
				{Name: "no-transit", Value: "64512:666"}, {Name: "lab", Value: "large:64512:1:100"},
			}}}}
			s.BGPAdvertisements[0].Spec.Communities = []v1beta1.CommunityOrAlias{"no-transit", "64512:100", "lab"}
			s.BGPAdvertisements = append(s.BGPAdvertisements, adv("second", func(a *v1beta1.BGPAdvertisementSpec) {
				a.Communities = []v1beta1.CommunityOrAlias{"65535:65282", "large:1:2:3"}
			}))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", frrconfig.Advertisement{
				Prefix:           pfx("192.0.2.10/32"),
				Communities:      []string{"64512:100", "64512:666", "no-advertise"},
				LargeCommunities: []string{"1:2:3", "64512:1:100"},
			})}}}},
	}, {
		name: "local-pref goes to iBGP peers only",
		mod: func(s *Snapshot) {
			s.Peers = append(s.Peers, peer("ibgp", "198.51.100.2", 64512, 64512))
			s.BGPAdvertisements[0].Spec.LocalPref = 200
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{
				ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...),
				ebgp("198.51.100.2", "64512", frrconfig.Advertisement{Prefix: pfx("192.0.2.10/32"), LocalPref: u32(200)}),
			}}}},
	}, {
		name: "dynamic internal ASN is iBGP",
		mod: func(s *Snapshot) {
			s.Peers[0].Spec.PeerASN = 0
			s.Peers[0].Spec.DynamicASN = v1beta1.DynamicASNInternal
			s.BGPAdvertisements[0].Spec.LocalPref = 50
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "internal", frrconfig.Advertisement{Prefix: pfx("192.0.2.10/32"), LocalPref: u32(50)})}}}},
	}, {
		name: "Local: not announced from a node without a ready endpoint",
		mod: func(s *Snapshot) {
			s.Services = []corev1.Service{svc("web", local, "192.0.2.10")}
			s.EndpointSlices = append(s.EndpointSlices, slice("web", "node2", true, "node1", false))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512,
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500")}}}},
	}, {
		name: "Local: announced from a node with a ready endpoint",
		mod: func(s *Snapshot) {
			s.Services = []corev1.Service{svc("web", local, "192.0.2.10")}
			s.EndpointSlices = append(s.EndpointSlices, slice("web", "node2", true, "node1", false))
		},
		node: "node2",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
	}, {
		name: "Cluster: announced with no endpoint at all",
		mod: func(s *Snapshot) {
			s.EndpointSlices = append(s.EndpointSlices, slice("web", "node2", false))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
	}, {
		name: "excluded node keeps its sessions and announces nothing, drained (in graceful shutdown)",
		mod: func(s *Snapshot) {
			s.Nodes[0].Labels[ExcludeLabel] = ""
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, GracefulShutdown: true,
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500")}}}},
	}, {
		name: "other load balancer classes and non-LoadBalancer Services are ignored",
		mod: func(s *Snapshot) {
			other := "other.io/lb"
			a := svc("classed", cluster, "192.0.2.11")
			a.Spec.LoadBalancerClass = &other
			b := svc("nodeport", cluster, "192.0.2.12")
			b.Spec.Type = corev1.ServiceTypeNodePort
			s.Services = append(s.Services, a, b)
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
	}, {
		name: "BFD profile, password, source address, multihop, graceful restart, port, router ID",
		mod: func(s *Snapshot) {
			s.BFDProfiles = []v1beta1.BFDProfile{{ObjectMeta: meta("fast"), Spec: v1beta1.BFDProfileSpec{
				ReceiveInterval: u32(50), TransmitInterval: u32(50), DetectMultiplier: u32(3)}}}
			s.Secrets = []corev1.Secret{{ObjectMeta: meta("pw"), Data: map[string][]byte{"password": []byte("s3cret")}}}
			sp := &s.Peers[0].Spec
			sp.BFDProfile = "fast"
			sp.PasswordSecret = &corev1.SecretReference{Name: "pw"}
			sp.SourceAddress = "198.51.100.11"
			sp.EBGPMultiHop = true
			sp.EnableGracefulRestart = true
			sp.PeerPort = 1179
			sp.RouterID = "198.51.100.11"
			sp.ConnectTime = &metav1.Duration{Duration: 5e9}
		},
		node: "node1",
		want: frrconfig.Config{
			Routers: []frrconfig.Router{{ASN: 64512, RouterID: addr("198.51.100.11"), IPv4Networks: pfxs("192.0.2.10/32"),
				Neighbors: []frrconfig.Neighbor{{Address: addr("198.51.100.1"), RemoteAS: "64500", Port: 1179,
					Timers: &frrconfig.Timers{Keepalive: 3, Hold: 9}, ConnectTime: 5, Password: "s3cret",
					UpdateSource: "198.51.100.11", EBGPMultihop: 255, BFD: true, BFDProfile: "fast", GracefulRestart: true,
					Advertise: plain("192.0.2.10/32")}}}},
			BFDProfiles: []frrconfig.BFDProfile{{Name: "fast", ReceiveInterval: 50, TransmitInterval: 50, DetectMultiplier: 3}},
		},
	}, {
		name: "peers in a VRF get their own router",
		mod: func(s *Snapshot) {
			s.Peers = append(s.Peers, peer("red", "198.51.100.9", 64513, 64500, func(p *v1beta1.BGPPeerSpec) { p.VRF = "red" }))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{
			{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
				Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}},
			{ASN: 64513, VRF: "red", IPv4Networks: pfxs("192.0.2.10/32"),
				Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.9", "64500", plain("192.0.2.10/32")...)}},
		}},
	}, {
		name: "unknown BFD profile: that peer is left out, the others are untouched",
		mod: func(s *Snapshot) {
			s.Peers = append(s.Peers, peer("broken", "198.51.100.2", 64512, 64500, func(p *v1beta1.BGPPeerSpec) { p.BFDProfile = "nope" }))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
		problems: []problemKey{{KindBGPPeer, "broken", "spec.bfdProfile", ReasonUnknownBFDProfile, leaveEffect}},
	}, {
		name: "missing password Secret, missing key",
		mod: func(s *Snapshot) {
			s.Secrets = []corev1.Secret{{ObjectMeta: meta("nokey"), Data: map[string][]byte{"username": []byte("x")}}}
			s.Peers = append(s.Peers,
				peer("nosecret", "198.51.100.2", 64512, 64500, func(p *v1beta1.BGPPeerSpec) { p.PasswordSecret = &corev1.SecretReference{Name: "gone"} }),
				peer("nokey", "198.51.100.3", 64512, 64500, func(p *v1beta1.BGPPeerSpec) { p.PasswordSecret = &corev1.SecretReference{Name: "nokey"} }))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
		problems: []problemKey{
			{KindBGPPeer, "nokey", "spec.passwordSecret", ReasonMissingPassword, leaveEffect},
			{KindBGPPeer, "nosecret", "spec.passwordSecret", ReasonMissingPassword, leaveEffect},
		},
	}, {
		name: "unknown community alias: that advertisement is left out, the others stay",
		mod: func(s *Snapshot) {
			s.BGPAdvertisements = append(s.BGPAdvertisements, adv("typo", func(a *v1beta1.BGPAdvertisementSpec) {
				a.Communities = []v1beta1.CommunityOrAlias{"no-transti"}
			}))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
		problems: []problemKey{{KindBGPAdvertisement, "typo", "spec.communities[0]", ReasonUnknownCommunity, leaveEffect}},
	}, {
		name: "reserved community value",
		mod: func(s *Snapshot) {
			s.BGPAdvertisements[0].Spec.Communities = []v1beta1.CommunityOrAlias{"65535:7"}
		},
		node:     "node1",
		want:     frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500")}}}},
		problems: []problemKey{{KindBGPAdvertisement, "all", "spec.communities[0]", ReasonInvalidCommunity, leaveEffect}},
	}, {
		name: "advertisement naming a missing pool still announces the pools that exist",
		mod: func(s *Snapshot) {
			s.BGPAdvertisements[0].Spec.IPAddressPools = []string{"lab", "gone"}
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
		problems: []problemKey{{KindBGPAdvertisement, "all", "spec.ipAddressPools[1]", ReasonUnknownPool, "the other pools are announced"}},
	}, {
		name: "aggregation length shorter than the pool's prefix",
		mod: func(s *Snapshot) {
			s.BGPAdvertisements[0].Spec.AggregationLength = i32(24)
		},
		node:     "node1",
		want:     frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500")}}}},
		problems: []problemKey{{KindBGPAdvertisement, "all", "spec.aggregationLength", ReasonAggregationLength, leaveEffect}},
	}, {
		name: "two advertisements give one prefix different local-prefs: both reported, first name wins",
		mod: func(s *Snapshot) {
			s.Peers[0].Spec.PeerASN = 64512
			s.BGPAdvertisements[0].Spec.LocalPref = 100
			s.BGPAdvertisements = append(s.BGPAdvertisements, adv("b-other", func(a *v1beta1.BGPAdvertisementSpec) { a.LocalPref = 300 }))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64512", frrconfig.Advertisement{Prefix: pfx("192.0.2.10/32"), LocalPref: u32(100)})}}}},
		problems: []problemKey{
			{KindBGPAdvertisement, "all", "spec.localPref", ReasonLocalPrefConflict, "announcing it with localPref 100 from BGPAdvertisement all, whose name sorts first"},
			{KindBGPAdvertisement, "b-other", "spec.localPref", ReasonLocalPrefConflict, "announcing it with localPref 100 from BGPAdvertisement all, whose name sorts first"},
		},
	}, {
		name: "two peers with different myASN in one VRF: the second is not opened",
		mod: func(s *Snapshot) {
			s.Peers = append(s.Peers, peer("z-other-asn", "198.51.100.2", 64999, 64500))
		},
		node: "node1",
		want: frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []frrconfig.Neighbor{ebgp("198.51.100.1", "64500", plain("192.0.2.10/32")...)}}}},
		problems: []problemKey{{KindBGPPeer, "z-other-asn", "spec.myASN", ReasonASNConflict, "not opened on node node1"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			if tt.mod != nil {
				tt.mod(&s)
			}
			got := Plan(&s, tt.node)
			if diff := cmp.Diff(tt.want, got.Config, cmpopts.EquateEmpty(), ignoreFamilies, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, keysOf(got.Problems), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, got.Problems)
			}
			if err := got.Config.Validate(); err != nil {
				t.Errorf("the planned config does not validate: %v", err)
			}
		})
	}
}

// TestPlanFamilies checks that a neighbor's address families come from
// its address and the pools it may be sent, never from the Services: the
// first Service of a family, or the removal of the last, would otherwise
// reset the session.
func TestPlanFamilies(t *testing.T) {
	cluster := corev1.ServiceExternalTrafficPolicyCluster
	tests := []struct {
		name string
		mod  func(s *Snapshot)
		node string
		want map[string][]string // neighbor → families
	}{{
		name: "dual-stack pool, IPv4 Service only: both families",
		want: map[string][]string{"198.51.100.1": {"ipv4", "ipv6"}},
	}, {
		name: "dual-stack pool, no Service: both families",
		mod:  func(s *Snapshot) { s.Services = nil },
		want: map[string][]string{"198.51.100.1": {"ipv4", "ipv6"}},
	}, {
		name: "IPv4 pool: an IPv6 peer still carries its own family",
		mod: func(s *Snapshot) {
			s.Pools = []v1beta1.IPAddressPool{poolObj("lab", "192.0.2.0/26")}
			s.Peers = append(s.Peers, peer("router6", "2001:db8:100::1", 64512, 64500))
		},
		want: map[string][]string{"198.51.100.1": {"ipv4"}, "2001:db8:100::1": {"ipv4", "ipv6"}},
	}, {
		name: "advertisement limited to another peer: the address family only",
		mod: func(s *Snapshot) {
			s.Peers = append(s.Peers, peer("other", "198.51.100.2", 64512, 64500))
			s.BGPAdvertisements[0].Spec.Peers = []string{"other"}
		},
		want: map[string][]string{"198.51.100.1": {"ipv4"}, "198.51.100.2": {"ipv4", "ipv6"}},
	}, {
		name: "advertisement for other nodes: the address family only",
		mod:  func(s *Snapshot) { s.BGPAdvertisements[0].Spec.NodeSelectors = hostSel("node2") },
		want: map[string][]string{"198.51.100.1": {"ipv4"}},
	}, {
		name: "excluded node keeps its families",
		mod: func(s *Snapshot) {
			s.Nodes[0].Labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
		},
		want: map[string][]string{"198.51.100.1": {"ipv4", "ipv6"}},
	}, {
		name: "dual-stack Service on a dual-stack pool: the same families",
		mod: func(s *Snapshot) {
			s.Services = []corev1.Service{svc("web", cluster, "192.0.2.10", "2001:db8:200::10")}
		},
		want: map[string][]string{"198.51.100.1": {"ipv4", "ipv6"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			if tt.mod != nil {
				tt.mod(&s)
			}
			node := tt.node
			if node == "" {
				node = "node1"
			}
			got := map[string][]string{}
			res := Plan(&s, node)
			for _, r := range res.Config.Routers {
				for _, n := range r.Neighbors {
					got[n.Address.String()] = n.Families
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("families (-want +got):\n%s", diff)
			}
			if err := res.Config.Validate(); err != nil {
				t.Errorf("the planned config does not validate: %v", err)
			}
		})
	}
}
