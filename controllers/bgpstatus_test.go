package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/speaker/planner"
)

func stAccepted(c client.Client, obj client.Object, conds func() []metav1.Condition) func() *metav1.Condition {
	return func() *metav1.Condition {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return nil
		}
		return meta.FindStatusCondition(conds(), ConditionAccepted)
	}
}

func TestBGPStatus(t *testing.T) {
	cfg, c := apitest.Start(t)
	apitest.Namespace(t, c, testNS)
	stCluster(t, c)
	stStart(t, cfg)
	ctx := context.Background()

	peer := &v1beta1.BGPPeer{}
	peer.Name, peer.Namespace = "router", testNS
	peerCond := stAccepted(c, peer, func() []metav1.Condition { return peer.Status.Conditions })
	stWaitFor(t, "router", peerCond, metav1.ConditionTrue, ReasonAccepted)

	t.Run("unknown BFD profile", func(t *testing.T) {
		peer.Spec.BFDProfile = "fast"
		if err := c.Update(ctx, peer); err != nil {
			t.Fatal(err)
		}
		got := stWaitFor(t, "router", peerCond, metav1.ConditionFalse, planner.ReasonUnknownBFDProfile)
		if !strings.Contains(got.Message, `spec.bfdProfile: BFDProfile "fast" does not exist`) {
			t.Errorf("message %q", got.Message)
		}
		stWaitEvent(t, c, "router", planner.ReasonUnknownBFDProfile)
		stCreate(t, c, &v1beta1.BFDProfile{ObjectMeta: metav1.ObjectMeta{Name: "fast", Namespace: testNS}})
		stWaitFor(t, "router", peerCond, metav1.ConditionTrue, ReasonAccepted)
	})

	t.Run("missing password Secret, then a bad password that never shows", func(t *testing.T) {
		peer.Spec.PasswordSecret = &corev1.SecretReference{Name: "router-pw"}
		if err := c.Update(ctx, peer); err != nil {
			t.Fatal(err)
		}
		stWaitFor(t, "router", peerCond, metav1.ConditionFalse, planner.ReasonMissingPassword)
		stCreate(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "router-pw", Namespace: testNS},
			Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{"password": []byte("has a space")}})
		// Secrets are not watched: a spec change brings the next check.
		peer.Spec.EnableGracefulRestart = true
		if err := c.Update(ctx, peer); err != nil {
			t.Fatal(err)
		}
		got := stWaitFor(t, "router", peerCond, metav1.ConditionFalse, planner.ReasonInvalidPeer)
		if strings.Contains(got.Message, "has a space") {
			t.Errorf("the condition shows the password: %q", got.Message)
		}
	})

	t.Run("advertisement: unknown alias and missing pool", func(t *testing.T) {
		a := &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "typo", Namespace: testNS},
			Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"lab", "gone"}, Communities: []v1beta1.CommunityOrAlias{"no-transit"}}}
		stCreate(t, c, a)
		got := stWaitFor(t, "typo", stAccepted(c, a, func() []metav1.Condition { return a.Status.Conditions }), metav1.ConditionFalse, planner.ReasonUnknownCommunity)
		for _, s := range []string{`spec.communities[0]: "no-transit" is neither`, `spec.ipAddressPools[1]: IPAddressPool "gone" does not exist`} {
			if !strings.Contains(got.Message, s) {
				t.Errorf("message %q does not say %q", got.Message, s)
			}
		}
	})

	t.Run("local-pref conflict shows on both advertisements", func(t *testing.T) {
		var p v1beta1.BGPPeer
		if err := c.Get(ctx, client.ObjectKeyFromObject(peer), &p); err != nil {
			t.Fatal(err)
		}
		stCreate(t, c, &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "ibgp", Namespace: testNS},
			Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64512, PeerAddress: "198.51.100.2"}})
		a := &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "pref-a", Namespace: testNS}, Spec: v1beta1.BGPAdvertisementSpec{LocalPref: 100}}
		b := &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "pref-b", Namespace: testNS}, Spec: v1beta1.BGPAdvertisementSpec{LocalPref: 200}}
		stCreate(t, c, a, b)
		stWithIP(t, c, "pref", corev1.ServiceExternalTrafficPolicyCluster, "192.0.2.30")
		stWaitFor(t, "pref-a", stAccepted(c, a, func() []metav1.Condition { return a.Status.Conditions }), metav1.ConditionFalse, planner.ReasonLocalPrefConflict)
		got := stWaitFor(t, "pref-b", stAccepted(c, b, func() []metav1.Condition { return b.Status.Conditions }), metav1.ConditionFalse, planner.ReasonLocalPrefConflict)
		if !strings.Contains(got.Message, "BGPAdvertisement pref-a gives it localPref 100") {
			t.Errorf("message %q", got.Message)
		}
	})
}

// waitEvent waits for an event about object name with reason.
func stWaitEvent(t *testing.T, c client.Client, name, reason string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var evs corev1.EventList
		if err := c.List(context.Background(), &evs, client.InNamespace(testNS)); err == nil {
			for _, e := range evs.Items {
				if e.InvolvedObject.Name == name && e.Reason == reason {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event %s about %s", reason, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
