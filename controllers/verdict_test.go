package controllers

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/verdict"
	"github.com/heraldlb/herald/speaker"
	"github.com/heraldlb/herald/speaker/planner"
)

// vBadSelector passes the CRDs' schema but is no label selector.
var vBadSelector = []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/hostname": "node 1"}}}

// TestBadInputReportedOnNewcomer: issue 15 items 1, 2, 3 and 10 against a
// real API server and the whole controller. A healthy cluster announces
// Service v/web; each case applies one mistaken object or edit, waits for
// the report (condition and event) on the object at fault — the newcomer,
// not the live object —, checks that the live objects stay Accepted and
// that node1's plan, computed by the speakers' planner from the same API
// server (with the last good versions a running speaker holds), is
// unchanged; then undoes the mistake.
func TestBadInputReportedOnNewcomer(t *testing.T) {
	cfg, c := startDualStackAPIServer(t)
	startController(t, cfg, Options{})
	ctx := context.Background()

	for _, n := range []string{"node1", "node2"} {
		mustCreate(t, c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"kubernetes.io/hostname": n}}})
	}
	namespace(t, c, "v", nil)
	livePool := pool("live", []string{"192.0.2.64/27"}, onlyNamespace("v"))
	createPool(t, c, livePool)
	router := &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: testNS},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1"}}
	adv := &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "live", Namespace: testNS},
		Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"live"}, Communities: []v1beta1.CommunityOrAlias{"tag"}}}
	l2 := &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2", Namespace: testNS},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"live"}}}
	comm := &v1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "live", Namespace: testNS},
		Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "tag", Value: "64512:1"}}}}
	for _, o := range []client.Object{router, adv, l2, comm} {
		mustCreate(t, c, o)
	}
	mustCreate(t, c, lbService("v", "web", 80))
	webIP := ingressIPs(waitService(t, c, "v", "web", "an IP", hasIPs(1)))[0]

	accepted := func(o client.Object) func() *metav1.Condition {
		return func() *metav1.Condition {
			if err := c.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return nil
			}
			switch o := o.(type) {
			case *v1beta1.IPAddressPool:
				return meta.FindStatusCondition(o.Status.Conditions, ConditionPoolAccepted)
			case *v1beta1.BGPPeer:
				return meta.FindStatusCondition(o.Status.Conditions, ConditionAccepted)
			case *v1beta1.BGPAdvertisement:
				return meta.FindStatusCondition(o.Status.Conditions, ConditionAccepted)
			case *v1beta1.L2Advertisement:
				return meta.FindStatusCondition(o.Status.Conditions, ConditionAccepted)
			}
			return nil
		}
	}
	live := []client.Object{livePool, router, adv, l2}
	for _, o := range live {
		stWaitFor(t, o.GetName(), accepted(o), metav1.ConditionTrue, "Accepted")
	}
	// node1's plan as its speaker sees it; lastGood is what a running
	// speaker carries from one plan to the next.
	var lastGood planner.LastGood
	plan := func() planner.Result {
		t.Helper()
		snap, err := speaker.LoadSnapshot(ctx, c, testNS, "")
		if err != nil {
			t.Fatal(err)
		}
		snap.LastGood = lastGood
		res := planner.Plan(&snap, "node1")
		lastGood = res.LastGood
		return res
	}
	good := plan()
	if len(good.Config.Routers) != 1 || len(good.Config.Routers[0].IPv4Networks) != 1 || len(good.L2) != 1 {
		t.Fatalf("node1 does not announce %s: %+v, L2 %+v", webIP, good.Config, good.L2)
	}
	// Newcomers must be younger than the live objects: creation times
	// have a resolution of one second, so wait out the second of the
	// youngest (the Community, created last: CI once created it a second
	// after the peer, and the newcomer Community shared its second and won
	// on its name).
	youngest := time.Time{}
	for _, o := range []client.Object{livePool, router, adv, l2, comm} {
		if ts := o.GetCreationTimestamp().Time; ts.After(youngest) {
			youngest = ts
		}
	}
	time.Sleep(time.Until(youngest.Add(1100 * time.Millisecond)))

	newPeer := func(name, address string, myASN, peerASN uint32) *v1beta1.BGPPeer {
		return &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
			Spec: v1beta1.BGPPeerSpec{MyASN: myASN, PeerASN: peerASN, PeerAddress: address}}
	}
	type tc struct {
		name string
		// apply makes the mistake and returns the object at fault;
		// undo reverts it.
		apply func(t *testing.T) client.Object
		undo  func(t *testing.T, o client.Object)
		// reason is the condition's and the event's reason on the object
		// at fault (Communities have no status: the event only).
		reason string
		// message is a part of the condition's message.
		message string
	}
	del := func(t *testing.T, o client.Object) {
		if err := c.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cases := []tc{
		{
			name: "a new pool overlapping the live one, whose name sorts first",
			apply: func(t *testing.T) client.Object {
				p := pool("a-overlap", []string{"192.0.2.64/28"}, onlyNamespace("v"))
				mustCreate(t, c, p)
				return p
			},
			undo: del, reason: verdict.ReasonOverlappingPool, message: `overlap 192.0.2.64/27 of pool "live", which is older and keeps them`,
		},
		{
			name: "a second BGPPeer for the live session with a wrong ASN, whose name sorts first",
			apply: func(t *testing.T) client.Object {
				p := newPeer("a-router", "198.51.100.1", 64512, 65000)
				mustCreate(t, c, p)
				return p
			},
			undo: del, reason: planner.ReasonDuplicatePeerNeighbor, message: "through BGPPeer router",
		},
		{
			name: "a second myASN on the nodes, from a peer whose name sorts first",
			apply: func(t *testing.T) client.Object {
				p := newPeer("a-asn", "198.51.100.2", 64999, 64500)
				mustCreate(t, c, p)
				return p
			},
			undo: del, reason: planner.ReasonASNConflict, message: "differs from myASN 64512 of BGPPeer router",
		},
		{
			name: "a Community alias redefined by a new Community whose name sorts first",
			apply: func(t *testing.T) client.Object {
				o := &v1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "a-comm", Namespace: testNS},
					Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "tag", Value: "64512:999"}}}}
				mustCreate(t, c, o)
				return o
			},
			undo: del, reason: verdict.ReasonConflictingCommunity,
		},
		{
			name: "a new BGPPeer whose address is the Service's IP",
			apply: func(t *testing.T) client.Object {
				p := newPeer("a-vip", webIP, 64512, 64500)
				mustCreate(t, c, p)
				return p
			},
			undo: del, reason: planner.ReasonPeerAddressIsServiceIP, message: "is the LoadBalancer IP of Service v/web",
		},
		{
			name: "a new BGPPeer whose address is inside the pool",
			apply: func(t *testing.T) client.Object {
				p := newPeer("a-inpool", "192.0.2.90", 64512, 64500)
				mustCreate(t, c, p)
				return p
			},
			undo: del, reason: planner.ReasonPeerAddressIsServiceIP, message: "is inside IPAddressPool live",
		},
		{
			name: "a malformed nodeSelector edited into the live BGPAdvertisement",
			apply: func(t *testing.T) client.Object {
				update(t, c, adv, func(a *v1beta1.BGPAdvertisement) { a.Spec.NodeSelectors = vBadSelector })
				return adv
			},
			undo: func(t *testing.T, _ client.Object) {
				update(t, c, adv, func(a *v1beta1.BGPAdvertisement) { a.Spec.NodeSelectors = nil })
			},
			reason: planner.ReasonInvalidNodeSelector, message: "spec.nodeSelectors[0] is not a valid label selector",
		},
		{
			name: "a malformed nodeSelector edited into the live BGPPeer",
			apply: func(t *testing.T) client.Object {
				update(t, c, router, func(p *v1beta1.BGPPeer) { p.Spec.NodeSelectors = vBadSelector })
				return router
			},
			undo: func(t *testing.T, _ client.Object) {
				update(t, c, router, func(p *v1beta1.BGPPeer) { p.Spec.NodeSelectors = nil })
			},
			reason: planner.ReasonInvalidNodeSelector, message: "speakers keep its last good version",
		},
		{
			name: "a malformed nodeSelector edited into the live L2Advertisement",
			apply: func(t *testing.T) client.Object {
				update(t, c, l2, func(a *v1beta1.L2Advertisement) { a.Spec.NodeSelectors = vBadSelector })
				return l2
			},
			undo: func(t *testing.T, _ client.Object) {
				update(t, c, l2, func(a *v1beta1.L2Advertisement) { a.Spec.NodeSelectors = nil })
			},
			reason: planner.ReasonInvalidNodeSelector,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.apply(t)
			defer func() {
				tc.undo(t, o)
				for _, l := range live {
					stWaitFor(t, l.GetName()+" after the undo", accepted(l), metav1.ConditionTrue, "Accepted")
				}
			}()
			if !isCommunity(o) {
				got := stWaitFor(t, o.GetName(), accepted(o), metav1.ConditionFalse, tc.reason)
				if !strings.Contains(got.Message, tc.message) {
					t.Errorf("%s's condition message %q does not say %q", o.GetName(), got.Message, tc.message)
				}
			}
			waitEvent(t, c, testNS, o.GetName(), tc.reason)
			for _, l := range live {
				if l == o {
					continue // the live object edited is the one at fault
				}
				if got := accepted(l)(); got == nil || got.Status != metav1.ConditionTrue {
					t.Errorf("live %T %s lost its Accepted condition: %+v", l, l.GetName(), got)
				}
			}
			if isCommunity(o) {
				for _, r := range eventReasons(t, c, testNS, comm.Name) {
					if r == tc.reason {
						t.Errorf("the live Community got the event %s", r)
					}
				}
			}
			got := plan()
			if diff := cmp.Diff(good.Config, got.Config, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("node1's FRR model changed (-live +after):\n%s", diff)
			}
			if diff := cmp.Diff(good.L2, got.L2, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("node1's Layer 2 plan changed (-live +after):\n%s", diff)
			}
			if ips := ingressIPs(waitService(t, c, "v", "web", "an IP", hasIPs(1))); ips[0] != webIP {
				t.Errorf("v/web moved from %s to %v", webIP, ips)
			}
		})
	}

	t.Run("myASN edited on the live peer is reported as a session reset", func(t *testing.T) {
		update(t, c, router, func(p *v1beta1.BGPPeer) { p.Spec.MyASN = 64513 })
		waitEvent(t, c, testNS, router.Name, ReasonSessionReset)
		var list corev1.EventList
		if err := c.List(ctx, &list, client.InNamespace(testNS)); err != nil {
			t.Fatal(err)
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == router.Name && e.Reason == ReasonSessionReset && !strings.Contains(e.Message, "myASN changed from 64512 to 64513") {
				t.Errorf("event message %q", e.Message)
			}
		}
	})
}

func isCommunity(o client.Object) bool { _, ok := o.(*v1beta1.Community); return ok }

func TestSessionReset(t *testing.T) {
	peer := func(myASN uint32, vrf string) *v1beta1.BGPPeer {
		return &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router"}, Spec: v1beta1.BGPPeerSpec{MyASN: myASN, PeerASN: 64500, VRF: vrf}}
	}
	tests := []struct {
		name     string
		old, cur *v1beta1.BGPPeer
		want     string // a part of the message; "" for no reset
	}{
		{name: "myASN edited", old: peer(64512, ""), cur: peer(64513, ""), want: `myASN changed from 64512 to 64513: every node opening BGPPeer router rebuilds its BGP instance of VRF ""`},
		{name: "myASN and VRF edited", old: peer(64512, ""), cur: peer(64513, "red"), want: `of VRF "red"`},
		{name: "another field edited", old: peer(64512, ""), cur: func() *v1beta1.BGPPeer { p := peer(64512, ""); p.Spec.EnableGracefulRestart = true; return p }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, reset := SessionReset(tc.old, tc.cur)
			if reset != (tc.want != "") || !strings.Contains(msg, tc.want) {
				t.Errorf("SessionReset = %q, %v; want a reset saying %q", msg, reset, tc.want)
			}
		})
	}
}
