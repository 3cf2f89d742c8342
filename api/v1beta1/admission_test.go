package v1beta1_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// rejectCase is an object the API server must refuse, with the field its
// message must name and a fragment of the explanation.
type rejectCase struct {
	name  string
	kind  string
	spec  string // YAML of .spec
	field string // must appear in the error
	msg   string // must appear in the error
}

var rejectCases = []rejectCase{
	// IPAddressPool: address syntax.
	{"pool invalid CIDR", "IPAddressPool", `addresses: ["192.0.2.0/33"]`, "spec.addresses[0]", "is neither a CIDR"},
	{"pool not an address", "IPAddressPool", `addresses: ["192.0.2.0/26", "banana"]`, "spec.addresses[1]", "is neither a CIDR"},
	{"pool single address", "IPAddressPool", `addresses: ["192.0.2.1"]`, "spec.addresses[0]", "is neither a CIDR"},
	{"pool leading zero", "IPAddressPool", `addresses: ["192.0.2.01-192.0.2.9"]`, "spec.addresses[0]", "is neither a CIDR"},
	{"pool IPv6 zone", "IPAddressPool", `addresses: ["fe80::1%eth0-fe80::2%eth0"]`, "spec.addresses[0]", "is neither a CIDR"},
	{"pool host bits", "IPAddressPool", `addresses: ["192.0.2.5/24"]`, "spec.addresses[0]", "has bits set beyond its prefix length"},
	{"pool host bits v6", "IPAddressPool", `addresses: ["2001:db8:200::1/64"]`, "spec.addresses[0]", "has bits set beyond its prefix length"},
	{"pool space around entry", "IPAddressPool", `addresses: [" 192.0.2.0/26"]`, "spec.addresses[0]", "should match"},
	{"pool reversed v4", "IPAddressPool", `addresses: ["192.0.2.20-192.0.2.10"]`, "spec.addresses[0]", "is reversed"},
	{"pool reversed v4 by one", "IPAddressPool", `addresses: ["192.0.2.11 - 192.0.2.10"]`, "spec.addresses[0]", "is reversed"},
	{"pool reversed v4 high bit", "IPAddressPool", `addresses: ["198.51.100.0-192.0.2.255"]`, "spec.addresses[0]", "is reversed"},
	{"pool reversed v6 bits 0-31", "IPAddressPool", `addresses: ["2001:db9::-2001:db8::ffff"]`, "spec.addresses[0]", "is reversed"},
	{"pool reversed v6 bits 32-63", "IPAddressPool", `addresses: ["2001:db8:1::-2001:db8::ffff"]`, "spec.addresses[0]", "is reversed"},
	{"pool reversed v6 bits 64-95", "IPAddressPool", `addresses: ["2001:db8::1:0:0:0-2001:db8::ffff"]`, "spec.addresses[0]", "is reversed"},
	{"pool reversed v6 bits 96-127", "IPAddressPool", `addresses: ["2001:db8:200::ff-2001:db8:200::1"]`, "spec.addresses[0]", "is reversed"},
	{"pool mixed families", "IPAddressPool", `addresses: ["192.0.2.1-2001:db8:200::1"]`, "spec.addresses[0]", "mixes IPv4 and IPv6"},
	{"pool no addresses", "IPAddressPool", `addresses: []`, "spec.addresses", "at least 1 item"},
	{"pool duplicate entry", "IPAddressPool", `addresses: ["192.0.2.0/26", "192.0.2.0/26"]`, "spec.addresses[1]", "Duplicate value"},
	{"pool no usable address", "IPAddressPool", `{addresses: ["192.0.2.0/32", "192.0.2.255-192.0.3.0", "198.51.100.255-198.51.100.255"], avoidBuggyIPs: true}`, "spec.addresses", "has no usable address"},
	{"pool bad namespace name", "IPAddressPool", `{addresses: ["192.0.2.0/26"], serviceAllocation: {namespaces: ["Default"]}}`, "spec.serviceAllocation.namespaces[0]", "should match"},
	{"pool negative priority", "IPAddressPool", `{addresses: ["192.0.2.0/26"], serviceAllocation: {priority: -1}}`, "spec.serviceAllocation.priority", "greater than or equal to 0"},

	// BGPPeer.
	{"peer ASN 0", "BGPPeer", `{myASN: 0, peerASN: 64500, peerAddress: 198.51.100.1}`, "spec.myASN", "greater than or equal to 1"},
	{"peer ASN above 32 bits", "BGPPeer", `{myASN: 64512, peerASN: 4294967296, peerAddress: 198.51.100.1}`, "spec.peerASN", "less than or equal to 4294967295"},
	{"peer peerASN and dynamicASN", "BGPPeer", `{myASN: 64512, peerASN: 64500, dynamicASN: external, peerAddress: 198.51.100.1}`, "spec.peerASN and spec.dynamicASN", "set exactly one"},
	{"peer neither ASN", "BGPPeer", `{myASN: 64512, peerAddress: 198.51.100.1}`, "spec.peerASN and spec.dynamicASN", "set exactly one"},
	{"peer bad dynamicASN", "BGPPeer", `{myASN: 64512, dynamicASN: sideways, peerAddress: 198.51.100.1}`, "spec.dynamicASN", "Unsupported value"},
	{"peer peerAddress and interface", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, interface: eth1}`, "spec.peerAddress and spec.interface", "set exactly one"},
	{"peer neither address nor interface", "BGPPeer", `{myASN: 64512, peerASN: 64500}`, "spec.peerAddress and spec.interface", "set exactly one"},
	{"peer address with prefix", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1/24}`, "spec.peerAddress", "must be the peer's IPv4 or IPv6 address"},
	{"peer bad interface", "BGPPeer", `{myASN: 64512, peerASN: 64500, interface: "eth0; reboot"}`, "spec.interface", "should match"},
	{"peer ebgpMultiHop with iBGP", "BGPPeer", `{myASN: 64512, peerASN: 64512, peerAddress: 198.51.100.1, ebgpMultiHop: true}`, "spec.ebgpMultiHop", "this peer is iBGP"},
	{"peer ebgpMultiHop with dynamic internal", "BGPPeer", `{myASN: 64512, dynamicASN: internal, peerAddress: 198.51.100.1, ebgpMultiHop: true}`, "spec.ebgpMultiHop", "this peer is iBGP"},
	{"peer holdTime 2s", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, holdTime: 2s}`, "spec.holdTime", "0s (keepalives off) or between 3s"},
	{"peer holdTime above 65535s", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, holdTime: 18h12m16s}`, "spec.holdTime", "0s (keepalives off) or between 3s"},
	{"peer holdTime not a duration", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, holdTime: soon}`, "spec.holdTime", "should match"},
	{"peer keepalive above hold", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, holdTime: 9s, keepaliveTime: 10s}`, "spec.keepaliveTime", "must not exceed spec.holdTime"},
	{"peer keepalive above default hold", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, keepaliveTime: 2m}`, "spec.keepaliveTime", "must not exceed spec.holdTime"},
	{"peer keepalive with hold 0", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, holdTime: 0s, keepaliveTime: 3s}`, "spec.keepaliveTime", "must not exceed spec.holdTime"},
	{"peer connectTime 0", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, connectTime: 0s}`, "spec.connectTime", "between 1s and 65535s"},
	{"peer port 0", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, peerPort: 0}`, "spec.peerPort", "greater than or equal to 1"},
	{"peer routerID v6", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, routerID: "2001:db8::1"}`, "spec.routerID", "must be an IPv4 address"},
	{"peer address unspecified", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: "::"}`, "spec.peerAddress", "not 0.0.0.0 or ::"},
	{"peer routerID 0.0.0.0", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, routerID: 0.0.0.0}`, "spec.routerID", "not 0.0.0.0"},
	{"peer source not canonical", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: "2001:db8:100::1", sourceAddress: "2001:DB8:100::11"}`, "spec.sourceAddress", "canonical form"},
	{"peer source with interface", "BGPPeer", `{myASN: 64512, peerASN: 64500, interface: eth1, sourceAddress: 198.51.100.11}`, "spec.sourceAddress", "remove sourceAddress"},
	{"peer vrf default", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, vrf: default}`, "spec.vrf", "leave it empty"},
	{"peer interface starting with a digit", "BGPPeer", `{myASN: 64512, peerASN: 64500, interface: 0eth}`, "spec.interface", "should match"},
	{"peer source family", "BGPPeer", `{myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, sourceAddress: "2001:db8:100::11"}`, "spec.sourceAddress", "same family as spec.peerAddress"},

	// BFDProfile.
	{"bfd name too long", "BFDProfile", `{}`, "metadata.name", "at most 63 characters"},
	{"bfd receive 9ms", "BFDProfile", `{receiveInterval: 9}`, "spec.receiveInterval", "greater than or equal to 10"},
	{"bfd transmit 60001ms", "BFDProfile", `{transmitInterval: 60001}`, "spec.transmitInterval", "less than or equal to 60000"},
	{"bfd echo 5ms", "BFDProfile", `{echoInterval: 5}`, "spec.echoInterval", "greater than or equal to 10"},
	{"bfd multiplier 1", "BFDProfile", `{detectMultiplier: 1}`, "spec.detectMultiplier", "greater than or equal to 2"},
	{"bfd multiplier 256", "BFDProfile", `{detectMultiplier: 256}`, "spec.detectMultiplier", "less than or equal to 255"},
	{"bfd minimumTtl 255", "BFDProfile", `{minimumTtl: 255}`, "spec.minimumTtl", "less than or equal to 254"},

	// BGPAdvertisement.
	{"adv aggregationLength 33", "BGPAdvertisement", `{aggregationLength: 33}`, "spec.aggregationLength", "less than or equal to 32"},
	{"adv aggregationLength -1", "BGPAdvertisement", `{aggregationLength: -1}`, "spec.aggregationLength", "greater than or equal to 0"},
	{"adv aggregationLengthV6 129", "BGPAdvertisement", `{aggregationLengthV6: 129}`, "spec.aggregationLengthV6", "less than or equal to 128"},
	{"adv localPref negative", "BGPAdvertisement", `{localPref: -1}`, "spec.localPref", "greater than or equal to 0"},
	{"adv community part above 16 bits", "BGPAdvertisement", `{communities: ["65536:1"]}`, "spec.communities[0]", "is not a BGP community"},
	{"adv community three parts", "BGPAdvertisement", `{communities: ["64512:1:2"]}`, "spec.communities[0]", "is not a BGP community"},
	{"adv large community two parts", "BGPAdvertisement", `{communities: ["64512:100", "large:1:2"]}`, "spec.communities[1]", "is not a BGP community"},
	{"adv large community above 32 bits", "BGPAdvertisement", `{communities: ["large:4294967296:1:1"]}`, "spec.communities[0]", "is not a BGP community"},
	{"adv community leading zero", "BGPAdvertisement", `{communities: ["064512:100"]}`, "spec.communities[0]", "is not a BGP community"},
	{"adv large community leading zero", "BGPAdvertisement", `{communities: ["large:01:2:3"]}`, "spec.communities[0]", "is not a BGP community"},
	{"adv community 0:0", "BGPAdvertisement", `{communities: ["0:0"]}`, "spec.communities[0]", "is in the reserved range"},
	{"adv community reserved 65535:1", "BGPAdvertisement", `{communities: ["65535:1"]}`, "spec.communities[0]", "is in the reserved range"},
	{"community value reserved", "Community", `{communities: [{name: a, value: "65535:7"}]}`, "spec.communities[0].value", "is in the reserved range"},
	{"adv bad alias", "BGPAdvertisement", `{communities: ["no export!"]}`, "spec.communities[0]", "is not a BGP community"},

	// Community.
	{"community alias as value", "Community", `{communities: [{name: a, value: no-export}]}`, "spec.communities[0].value", "is not a BGP community"},
	{"community duplicate name", "Community", `{communities: [{name: a, value: "1:1"}, {name: a, value: "1:2"}]}`, "spec.communities[1]", "Duplicate value"},
	{"community bad name", "Community", `{communities: [{name: "a b", value: "1:1"}]}`, "spec.communities[0].name", "should match"},

	{"adv bad pool name", "BGPAdvertisement", `{ipAddressPools: ["Lab Pool"]}`, "spec.ipAddressPools[0]", "should match"},
	{"adv bad peer name", "BGPAdvertisement", `{peers: ["router_1"]}`, "spec.peers[0]", "should match"},

	// L2Advertisement.
	{"l2 bad interface", "L2Advertisement", `{interfaces: ["eth0 up"]}`, "spec.interfaces[0]", "should match"},
	{"l2 interface too long", "L2Advertisement", `{interfaces: ["averyveryverylongname"]}`, "spec.interfaces[0]", "should match"},
}

func unstructuredFor(t *testing.T, kind, name, spec string) *unstructured.Unstructured {
	t.Helper()
	var s any
	if err := yaml.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatalf("test case spec %q is not YAML: %v", spec, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": s}}
	u.SetAPIVersion(v1beta1.GroupVersion.String())
	u.SetKind(kind)
	u.SetName(name)
	if kind != "NodeState" {
		u.SetNamespace(ns)
	}
	return u
}

func testRejected(t *testing.T, c client.Client) {
	for i, tc := range rejectCases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("reject-%d", i)
			if tc.field == "metadata.name" {
				name += "-" + strings.Repeat("x", 60)
			}
			obj := unstructuredFor(t, tc.kind, name, tc.spec)
			err := c.Create(ctxFor(t), obj)
			if err == nil {
				t.Fatalf("%s with spec %s was accepted, want it rejected naming %s", tc.kind, tc.spec, tc.field)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("error is not Invalid (422): %v", err)
			}
			// The API server prefixes each complaint with the path of the
			// field it is about; the explanation follows.
			for _, want := range []string{tc.field + ": ", tc.msg} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			t.Logf("%v", err)
		})
	}
}

// acceptCase is an object the API server must take, and what it must read
// back as (defaults filled in).
type acceptCase struct {
	name string
	obj  client.Object
	want any // the spec read back
}

func acceptCases() []acceptCase {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	seconds := func(s int) *metav1.Duration { return &metav1.Duration{Duration: time.Duration(s) * time.Second} }
	return []acceptCase{
		{
			name: "pool defaults",
			obj: &v1beta1.IPAddressPool{ObjectMeta: meta("defaults"), Spec: v1beta1.IPAddressPoolSpec{
				Addresses: []v1beta1.AddressRange{"192.0.2.0/26", "192.0.2.64 - 192.0.2.95", "2001:db8:200::/64", "2001:db8:200:1::1-2001:db8:200:1::ff"},
			}},
			want: v1beta1.IPAddressPoolSpec{
				Addresses:  []v1beta1.AddressRange{"192.0.2.0/26", "192.0.2.64 - 192.0.2.95", "2001:db8:200::/64", "2001:db8:200:1::1-2001:db8:200:1::ff"},
				AutoAssign: ptr.To(true),
			},
		},
		{
			name: "pool single-address range and usable buggy-adjacent range",
			obj: &v1beta1.IPAddressPool{ObjectMeta: meta("buggy"), Spec: v1beta1.IPAddressPoolSpec{
				Addresses:     []v1beta1.AddressRange{"192.0.2.255-192.0.3.1", "192.0.2.7-192.0.2.7", "0.0.0.0/0", "::/0"},
				AutoAssign:    ptr.To(false),
				AvoidBuggyIPs: true,
				ServiceAllocation: &v1beta1.ServiceAllocation{
					Priority:   10,
					Namespaces: []string{"default"},
					ServiceSelectors: []metav1.LabelSelector{
						{MatchLabels: map[string]string{"app": "demo"}},
					},
				},
			}},
			want: v1beta1.IPAddressPoolSpec{
				Addresses:     []v1beta1.AddressRange{"192.0.2.255-192.0.3.1", "192.0.2.7-192.0.2.7", "0.0.0.0/0", "::/0"},
				AutoAssign:    ptr.To(false),
				AvoidBuggyIPs: true,
				ServiceAllocation: &v1beta1.ServiceAllocation{
					Priority:   10,
					Namespaces: []string{"default"},
					ServiceSelectors: []metav1.LabelSelector{
						{MatchLabels: map[string]string{"app": "demo"}},
					},
				},
			},
		},
		{
			// The CEL cost budget of one request must hold the largest pool
			// the schema allows: 128 entries, each a range of two IPv6
			// addresses written out in full, differing only in the last bit.
			name: "pool at the size limit",
			obj:  &v1beta1.IPAddressPool{ObjectMeta: meta("largest"), Spec: v1beta1.IPAddressPoolSpec{Addresses: largestPool()}},
			want: v1beta1.IPAddressPoolSpec{Addresses: largestPool(), AutoAssign: ptr.To(true)},
		},
		{
			name: "peer defaults",
			obj: &v1beta1.BGPPeer{ObjectMeta: meta("defaults"), Spec: v1beta1.BGPPeerSpec{
				MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1",
			}},
			want: v1beta1.BGPPeerSpec{
				MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1",
				PeerPort: 179, HoldTime: seconds(90),
			},
		},
		{
			name: "peer 4-byte dynamic unnumbered multihop",
			obj: &v1beta1.BGPPeer{ObjectMeta: meta("unnumbered"), Spec: v1beta1.BGPPeerSpec{
				MyASN: 4294967295, DynamicASN: v1beta1.DynamicASNExternal, Interface: "eth1",
				EBGPMultiHop: true, HoldTime: seconds(0), KeepaliveTime: seconds(0), ConnectTime: seconds(5),
				RouterID: "198.51.100.11", VRF: "red", BFDProfile: "fast", EnableGracefulRestart: true,
				PasswordSecret: &corev1.SecretReference{Name: "bgp-password"},
			}},
			want: v1beta1.BGPPeerSpec{
				MyASN: 4294967295, DynamicASN: v1beta1.DynamicASNExternal, Interface: "eth1",
				EBGPMultiHop: true, HoldTime: seconds(0), KeepaliveTime: seconds(0), ConnectTime: seconds(5),
				RouterID: "198.51.100.11", VRF: "red", BFDProfile: "fast", EnableGracefulRestart: true,
				PasswordSecret: &corev1.SecretReference{Name: "bgp-password"}, PeerPort: 179,
			},
		},
		{
			name: "peer iBGP v6 with keepalive at hold",
			obj: &v1beta1.BGPPeer{ObjectMeta: meta("ibgp"), Spec: v1beta1.BGPPeerSpec{
				MyASN: 64512, PeerASN: 64512, PeerAddress: "2001:db8:100::1", SourceAddress: "2001:db8:100::11",
				HoldTime: seconds(3), KeepaliveTime: seconds(3), PeerPort: 1179,
			}},
			want: v1beta1.BGPPeerSpec{
				MyASN: 64512, PeerASN: 64512, PeerAddress: "2001:db8:100::1", SourceAddress: "2001:db8:100::11",
				HoldTime: seconds(3), KeepaliveTime: seconds(3), PeerPort: 1179,
			},
		},
		{
			name: "bfd defaults",
			obj:  &v1beta1.BFDProfile{ObjectMeta: meta("defaults")},
			want: v1beta1.BFDProfileSpec{
				ReceiveInterval: ptr.To[uint32](300), TransmitInterval: ptr.To[uint32](300),
				DetectMultiplier: ptr.To[uint32](3), EchoInterval: ptr.To[uint32](50),
				EchoMode: ptr.To(false), PassiveMode: ptr.To(false), MinimumTTL: ptr.To[uint32](254),
			},
		},
		{
			name: "bfd bounds",
			obj: &v1beta1.BFDProfile{ObjectMeta: meta("bounds"), Spec: v1beta1.BFDProfileSpec{
				ReceiveInterval: ptr.To[uint32](10), TransmitInterval: ptr.To[uint32](60000),
				DetectMultiplier: ptr.To[uint32](255), EchoInterval: ptr.To[uint32](10), EchoMode: ptr.To(true),
				PassiveMode: ptr.To(true), MinimumTTL: ptr.To[uint32](1),
			}},
			want: v1beta1.BFDProfileSpec{
				ReceiveInterval: ptr.To[uint32](10), TransmitInterval: ptr.To[uint32](60000),
				DetectMultiplier: ptr.To[uint32](255), EchoInterval: ptr.To[uint32](10), EchoMode: ptr.To(true),
				PassiveMode: ptr.To(true), MinimumTTL: ptr.To[uint32](1),
			},
		},
		{
			name: "advertisement defaults",
			obj:  &v1beta1.BGPAdvertisement{ObjectMeta: meta("defaults")},
			want: v1beta1.BGPAdvertisementSpec{AggregationLength: ptr.To[int32](32), AggregationLengthV6: ptr.To[int32](128)},
		},
		{
			name: "advertisement communities",
			obj: &v1beta1.BGPAdvertisement{ObjectMeta: meta("communities"), Spec: v1beta1.BGPAdvertisementSpec{
				AggregationLength: ptr.To[int32](0), AggregationLengthV6: ptr.To[int32](64), LocalPref: 4294967295,
				Communities:    []v1beta1.CommunityOrAlias{"0:1", "65535:65281", "large:4294967295:0:1", "no-transit", "lab.services_1"},
				IPAddressPools: []string{"lab"}, Peers: []string{"router-node1"},
			}},
			want: v1beta1.BGPAdvertisementSpec{
				AggregationLength: ptr.To[int32](0), AggregationLengthV6: ptr.To[int32](64), LocalPref: 4294967295,
				Communities:    []v1beta1.CommunityOrAlias{"0:1", "65535:65281", "large:4294967295:0:1", "no-transit", "lab.services_1"},
				IPAddressPools: []string{"lab"}, Peers: []string{"router-node1"},
			},
		},
		{
			name: "community aliases",
			obj: &v1beta1.Community{ObjectMeta: meta("aliases"), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{
				{Name: "no-transit", Value: "64512:666"}, {Name: "big", Value: "large:64512:1:2"},
			}}},
			want: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{
				{Name: "no-transit", Value: "64512:666"}, {Name: "big", Value: "large:64512:1:2"},
			}},
		},
		{
			name: "l2 interfaces",
			obj: &v1beta1.L2Advertisement{ObjectMeta: meta("interfaces"), Spec: v1beta1.L2AdvertisementSpec{
				IPAddressPools: []string{"lab"}, Interfaces: []v1beta1.InterfaceName{"eth0", "bond0.100"},
			}},
			want: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lab"}, Interfaces: []v1beta1.InterfaceName{"eth0", "bond0.100"}},
		},
	}
}

func specOf(t *testing.T, obj client.Object) any {
	t.Helper()
	switch o := obj.(type) {
	case *v1beta1.IPAddressPool:
		return o.Spec
	case *v1beta1.BGPPeer:
		return o.Spec
	case *v1beta1.BFDProfile:
		return o.Spec
	case *v1beta1.BGPAdvertisement:
		return o.Spec
	case *v1beta1.Community:
		return o.Spec
	case *v1beta1.L2Advertisement:
		return o.Spec
	}
	t.Fatalf("no spec accessor for %T", obj)
	return nil
}

func testAcceptedWithDefaults(t *testing.T, c client.Client) {
	for _, tc := range acceptCases() {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxFor(t)
			if err := c.Create(ctx, tc.obj); err != nil {
				t.Fatalf("creating %T %s: %v", tc.obj, tc.obj.GetName(), err)
			}
			got := tc.obj.DeepCopyObject().(client.Object)
			if err := c.Get(ctx, client.ObjectKeyFromObject(tc.obj), got); err != nil {
				t.Fatalf("reading back: %v", err)
			}
			if diff := cmp.Diff(tc.want, specOf(t, got)); diff != "" {
				t.Errorf("spec read back (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("node state status", func(t *testing.T) {
		ctx := ctxFor(t)
		st := &v1beta1.NodeState{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}
		if err := c.Create(ctx, st); err != nil {
			t.Fatalf("creating NodeState: %v", err)
		}
		now := metav1.Now().Rfc3339Copy()
		st.Status = v1beta1.NodeStateStatus{
			FRR: &v1beta1.FRRConfigStatus{
				Generation: 7, Hash: "ab12", RunningHash: "ab12", Result: v1beta1.FRRApplied,
				Method: v1beta1.FRRIncremental, Duration: &metav1.Duration{Duration: 42e6}, Time: now,
			},
			BGPSessions:      []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router-node1", State: "Established", UpSince: &now, PrefixesSent: 2, PrefixesReceived: 1}},
			SessionsUp:       1,
			BFDPeers:         []v1beta1.BFDPeerStatus{{Peer: "198.51.100.1", State: "up", ReceiveInterval: 50, TransmitInterval: 50, DetectMultiplier: 3}},
			BGPAnnouncements: []v1beta1.BGPAnnouncement{{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.1/32", "2001:db8:200::1/128"}}},
			L2Announcements:  []v1beta1.L2Announcement{{IP: "192.0.2.1", Interface: "eth0"}},
		}
		want := st.Status.DeepCopy()
		if err := c.Status().Update(ctx, st); err != nil {
			t.Fatalf("writing NodeState status: %v", err)
		}
		var got v1beta1.NodeState
		if err := c.Get(ctx, client.ObjectKeyFromObject(st), &got); err != nil {
			t.Fatalf("reading back: %v", err)
		}
		if diff := cmp.Diff(*want, got.Status); diff != "" {
			t.Errorf("status read back (-want +got):\n%s", diff)
		}
		bad := got.DeepCopy()
		bad.Status.FRR.Result = "Maybe"
		if err := c.Status().Update(ctx, bad); err == nil || !strings.Contains(err.Error(), "status.frr.result") {
			t.Errorf("status with result Maybe: got %v, want a rejection naming status.frr.result", err)
		}
	})
}

// largestPool returns 128 long IPv6 ranges that make every CEL rule of an
// entry do its most work: the ends differ only in their last bit.
func largestPool() []v1beta1.AddressRange {
	var out []v1beta1.AddressRange
	for i := range 128 {
		a := fmt.Sprintf("2001:0db8:0200:ffff:ffff:ffff:ff%02x:fffe", i)
		b := fmt.Sprintf("2001:0db8:0200:ffff:ffff:ffff:ff%02x:ffff", i)
		out = append(out, v1beta1.AddressRange(a+" - "+b))
	}
	return out
}
