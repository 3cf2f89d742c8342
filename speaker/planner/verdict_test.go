package planner

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// created is the creation time of the live objects of liveSnap; newcomers
// are created a minute later.
var created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func born(m *metav1.ObjectMeta, after time.Duration) {
	m.CreationTimestamp = metav1.NewTime(created.Add(after))
}

// liveSnap is a healthy cluster announcing 192.0.2.10 by BGP (through
// BGPAdvertisement "all", which names pool "lab") and by Layer 2, with a
// Community alias in use; every object was created at the same time.
func liveSnap() Snapshot {
	s := base()
	s.BGPAdvertisements[0].Spec.IPAddressPools = []string{"lab"}
	s.BGPAdvertisements[0].Spec.Communities = []v1beta1.CommunityOrAlias{"tag"}
	s.Communities = []v1beta1.Community{{ObjectMeta: meta("live"), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "tag", Value: "64512:1"}}}}}
	s.L2Advertisements = []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lab"}}}}
	for i := range s.Pools {
		born(&s.Pools[i].ObjectMeta, 0)
	}
	for i := range s.Peers {
		born(&s.Peers[i].ObjectMeta, 0)
	}
	born(&s.Communities[0].ObjectMeta, 0)
	return s
}

// badSelector parses as YAML and passes the CRD's schema but is not a
// label selector (a space in a value).
var badSelector = []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/hostname": "node 1"}}}

// TestBadInputKeepsLiveRoutes: issue 15 items 1, 2, 3 and 10. Each case
// applies one mistaken edit to a live cluster; node1's plan (FRR model and
// Layer 2) must stay what it was, and the problem must be reported on the
// object at fault — the newcomer, not the live object.
func TestBadInputKeepsLiveRoutes(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Snapshot)
		// noLastGood plans the broken snapshot as a restarted speaker
		// would, with no last good versions.
		noLastGood bool
		probs      []problemKey
	}{
		{
			name: "a new pool overlapping the live one, whose name sorts first, takes nothing",
			edit: func(s *Snapshot) {
				p := poolObj("a-new", "192.0.2.0/28")
				born(&p.ObjectMeta, time.Minute)
				s.Pools = append(s.Pools, p)
			},
			// The pool's rejection is the controller's (IPAddressPool
			// condition); the plan has nothing to report.
		},
		{
			name: "a second BGPPeer for the live session with a wrong ASN, whose name sorts first, is not opened",
			edit: func(s *Snapshot) {
				p := peer("a-router", "198.51.100.1", 64512, 65000)
				born(&p.ObjectMeta, time.Minute)
				s.Peers = append(s.Peers, p)
			},
			probs: []problemKey{{KindBGPPeer, "a-router", "spec.peerAddress", ReasonDuplicatePeerNeighbor, "not opened on node node1"}},
		},
		{
			name: "a second myASN on the node, from a peer whose name sorts first, is not opened",
			edit: func(s *Snapshot) {
				p := peer("a-other", "198.51.100.2", 64999, 64500)
				born(&p.ObjectMeta, time.Minute)
				s.Peers = append(s.Peers, p)
			},
			probs: []problemKey{{KindBGPPeer, "a-other", "spec.myASN", ReasonASNConflict, "not opened on node node1"}},
		},
		{
			name: "a new BGPPeer with a routerID, on a node whose older BGPPeer has none, is not opened",
			edit: func(s *Snapshot) {
				p := peer("a-rid", "198.51.100.2", 64512, 64500)
				p.Spec.RouterID = "203.0.113.99"
				born(&p.ObjectMeta, time.Minute)
				s.Peers = append(s.Peers, p)
			},
			probs: []problemKey{{KindBGPPeer, "a-rid", "spec.routerID", ReasonRouterIDConflict, "not opened on node node1"}},
		},
		{
			name: "a Community alias redefined by a new Community whose name sorts first keeps its value",
			edit: func(s *Snapshot) {
				c := v1beta1.Community{ObjectMeta: meta("a-new"), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "tag", Value: "64512:999"}}}}
				born(&c.ObjectMeta, time.Minute)
				s.Communities = append(s.Communities, c)
			},
			probs: []problemKey{{KindCommunity, "a-new", "spec.communities[0]", ReasonConflictingCommunity, "using the value of Community live"}},
		},
		{
			name:  "a malformed nodeSelector edited into the live BGPAdvertisement",
			edit:  func(s *Snapshot) { s.BGPAdvertisements[0].Spec.NodeSelectors = badSelector },
			probs: []problemKey{{KindBGPAdvertisement, "all", "spec.nodeSelectors", ReasonInvalidNodeSelector, keepEffect}},
		},
		{
			name: "a malformed ipAddressPoolSelector edited into the live BGPAdvertisement",
			edit: func(s *Snapshot) {
				s.BGPAdvertisements[0].Spec.IPAddressPools = nil
				s.BGPAdvertisements[0].Spec.IPAddressPoolSelectors = badSelector
			},
			probs: []problemKey{{KindBGPAdvertisement, "all", "spec.ipAddressPoolSelectors", ReasonInvalidNodeSelector, keepEffect}},
		},
		{
			name:  "a malformed nodeSelector edited into the live BGPPeer",
			edit:  func(s *Snapshot) { s.Peers[0].Spec.NodeSelectors = badSelector },
			probs: []problemKey{{KindBGPPeer, "router", "spec.nodeSelectors", ReasonInvalidNodeSelector, keepEffect}},
		},
		{
			name:  "a BFDProfile that does not exist edited into the live BGPPeer",
			edit:  func(s *Snapshot) { s.Peers[0].Spec.BFDProfile = "nosuch" },
			probs: []problemKey{{KindBGPPeer, "router", "spec.bfdProfile", ReasonUnknownBFDProfile, keepEffect}},
		},
		{
			name:  "a malformed nodeSelector edited into the live L2Advertisement",
			edit:  func(s *Snapshot) { s.L2Advertisements[0].Spec.NodeSelectors = badSelector },
			probs: []problemKey{{KindL2Advertisement, "l2", "spec.nodeSelectors", ReasonInvalidNodeSelector, keepEffect}},
		},
		{
			name: "a malformed serviceAllocation selector edited into the live pool",
			edit: func(s *Snapshot) {
				s.Pools[0].Spec.ServiceAllocation = &v1beta1.ServiceAllocation{NamespaceSelectors: badSelector}
			},
		},
		{
			name: "the same, planned by a restarted speaker: the pool's addresses still serve",
			edit: func(s *Snapshot) {
				s.Pools[0].Spec.ServiceAllocation = &v1beta1.ServiceAllocation{NamespaceSelectors: badSelector}
			},
			noLastGood: true,
		},
		{
			name: "a new BGPPeer whose address is a Service's IP is not established",
			edit: func(s *Snapshot) {
				p := peer("a-vip", "192.0.2.10", 64512, 64500)
				born(&p.ObjectMeta, time.Minute)
				s.Peers = append(s.Peers, p)
			},
			probs: []problemKey{{KindBGPPeer, "a-vip", "spec.peerAddress", ReasonPeerAddressIsServiceIP, "not established until this is fixed"}},
		},
		{
			name: "a new BGPPeer whose address is inside a pool is not established",
			edit: func(s *Snapshot) {
				p := peer("a-pool", "192.0.2.20", 64512, 64500)
				born(&p.ObjectMeta, time.Minute)
				s.Peers = append(s.Peers, p)
			},
			probs: []problemKey{{KindBGPPeer, "a-pool", "spec.peerAddress", ReasonPeerAddressIsServiceIP, "not established until this is fixed"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			live := liveSnap()
			good := Plan(&live, "node1")
			if len(good.Problems) != 0 {
				t.Fatalf("the live cluster has problems: %v", good.Problems)
			}
			if len(good.Config.Routers) != 1 || len(good.Config.Routers[0].IPv4Networks) != 1 || len(good.L2) != 1 {
				t.Fatalf("the live cluster announces nothing: %+v %+v", good.Config, good.L2)
			}
			bad := liveSnap()
			tc.edit(&bad)
			if !tc.noLastGood {
				bad.LastGood = good.LastGood
			}
			got := Plan(&bad, "node1")
			if diff := cmp.Diff(good.Config, got.Config, cmpAddrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("the FRR model changed (-live +after the edit):\n%s", diff)
			}
			if diff := cmp.Diff(good.L2, got.L2, cmpAddrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Layer 2 changed (-live +after the edit):\n%s", diff)
			}
			if diff := cmp.Diff(tc.probs, keysOf(got.Problems)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			// The controller's view (Validate, no last good) reports the
			// same objects.
			bad.LastGood = LastGood{}
			// (one problem per node for per-node conflicts)
			var kinds []problemKey
			for _, p := range Validate(&bad) {
				k := problemKey{p.Kind, p.Name, p.Field, p.Reason, ""}
				if len(kinds) == 0 || kinds[len(kinds)-1] != k {
					kinds = append(kinds, k)
				}
			}
			var want []problemKey
			for _, p := range tc.probs {
				p.Effect = ""
				want = append(want, p)
			}
			if diff := cmp.Diff(want, kinds); diff != "" {
				t.Errorf("Validate's problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBadSelectorWithNoLastGood: a restarted speaker has no last good
// version of an object broken before it started; such an object is left
// out (and reported), as it was never in effect for this speaker.
func TestBadSelectorWithNoLastGood(t *testing.T) {
	s := liveSnap()
	s.BGPAdvertisements[0].Spec.NodeSelectors = badSelector
	got := Plan(&s, "node1")
	want := []problemKey{{KindBGPAdvertisement, "all", "spec.nodeSelectors", ReasonInvalidNodeSelector, leaveEffect}}
	if diff := cmp.Diff(want, keysOf(got.Problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if n := len(got.Config.Routers[0].IPv4Networks); n != 0 {
		t.Errorf("a broken advertisement with no last good version announces %d prefixes", n)
	}
}
