package bgp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestBGP brings the lab up once and runs every case on it; each case
// starts from the base objects and removes what it added.
func TestBGP(t *testing.T) {
	testenv.RequireRoot(t)
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker, lab.FRRAgent)
	e := newEnv(t, l)
	e.reset(t)
	t.Cleanup(func() { e.reset(t) })

	for _, tc := range []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"SessionsAndBFD", testSessionsAndBFD},
		{"ClusterECMP", testClusterECMP},
		{"Communities", testCommunities},
		{"LocalFollowsPod", testLocalFollowsPod},
		{"WithdrawEverywhere", testWithdrawEverywhere},
		{"LinkCut", testLinkCut},
		{"NodeSelector", testNodeSelector},
		{"LocalPrefIBGP", testLocalPrefIBGP},
		{"Password", testPassword},
		{"HostConflict", testHostConflict},
		{"Drain", testDrain},
		{"Health", testHealth},
	} {
		if !t.Run(tc.name, func(t *testing.T) {
			e.base(t)
			tc.run(t, e)
		}) {
			// The lab may be left in a state the next cases cannot start from.
			t.Logf("%s failed; the later cases start from the base objects again", tc.name)
		}
	}
}

// testSessionsAndBFD: each node's session to the router is Established, as
// the router and the nodes' NodeStates say, and a BFD session per node is up
// with the profile's intervals.
func testSessionsAndBFD(t *testing.T, e *env) {
	// base waited for the router's three Established sessions.
	labtest.Eventually(t, wait, "the router should have a BFD session per node, up, with the profile's intervals", func() string {
		var peers []struct {
			Peer       string `json:"peer"`
			Status     string `json:"status"`
			RemoteRx   int64  `json:"remote-receive-interval"`
			RemoteTx   int64  `json:"remote-transmit-interval"`
			RemoteMult int64  `json:"remote-detect-multiplier"`
		}
		if err := e.vtyshJSON(lab.RouterName, "show bfd peers json", &peers); err != nil {
			return err.Error()
		}
		var good []string
		for _, p := range peers {
			if p.Status == "up" && p.RemoteRx == bfdInterval && p.RemoteTx == bfdInterval && p.RemoteMult == bfdMult {
				good = append(good, p.Peer)
			}
		}
		slices.Sort(good)
		if want := e.nodeAddrs(t, e.allNodes()...); !slices.Equal(good, want) {
			return fmt.Sprintf("peers %+v", peers)
		}
		return ""
	})
	for _, n := range e.allNodes() {
		labtest.Eventually(t, wait, "NodeState "+n+" should show its session and BFD peer up", func() string {
			var st v1beta1.NodeState
			if err := e.c.Get(context.Background(), client.ObjectKey{Name: n}, &st); err != nil {
				return err.Error()
			}
			s := st.Status
			sessionUp := slices.ContainsFunc(s.BGPSessions, func(b v1beta1.BGPSessionStatus) bool {
				return b.Peer == lab.RouterAddr4.String() && b.State == "Established"
			})
			bfdUp := slices.ContainsFunc(s.BFDPeers, func(b v1beta1.BFDPeerStatus) bool {
				return b.Peer == lab.RouterAddr4.String() && strings.EqualFold(b.State, "up") &&
					b.ReceiveInterval == bfdInterval && b.TransmitInterval == bfdInterval && b.DetectMultiplier == bfdMult
			})
			if !sessionUp || !bfdUp || s.SessionsUp != 1 {
				return fmt.Sprintf("sessions %+v, sessionsUp %d, BFD %+v", s.BGPSessions, s.SessionsUp, s.BFDPeers)
			}
			return ""
		})
	}
}

// testClusterECMP: a Cluster Service is at the router through the three
// nodes; NodeStates and the Announced condition say the same.
func testClusterECMP(t *testing.T, e *env) {
	svc, ip := e.service(t, "e2e-cluster", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	e.waitHops(t, ip, e.allNodes()...)
	e.waitStatusSays(t, svc, ip, e.allNodes()...)
}

// waitStatusSays waits until the NodeStates announce ip/32 to the router
// from exactly nodes, and the Service's Announced condition names them.
func (e *env) waitStatusSays(t *testing.T, svc *corev1.Service, ip string, nodes ...string) {
	t.Helper()
	prefix := ip + "/32"
	labtest.Eventually(t, wait, fmt.Sprintf("NodeStates should announce %s from %v", prefix, nodes), func() string {
		var states v1beta1.NodeStateList
		if err := e.c.List(context.Background(), &states); err != nil {
			return err.Error()
		}
		var from []string
		for _, st := range states.Items {
			for _, a := range st.Status.BGPAnnouncements {
				if a.Peer == lab.RouterAddr4.String() && slices.Contains(a.Prefixes, prefix) {
					from = append(from, st.Name)
				}
			}
		}
		slices.Sort(from)
		if !slices.Equal(from, nodes) {
			return fmt.Sprintf("announced from %v", from)
		}
		return ""
	})
	labtest.Eventually(t, wait, "the Announced condition should name "+strings.Join(nodes, ", "), func() string {
		var cur corev1.Service
		if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(svc), &cur); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(cur.Status.Conditions, "heraldlb.io/Announced")
		if c == nil {
			return fmt.Sprintf("no condition among %+v", cur.Status.Conditions)
		}
		if c.Status != "True" {
			return fmt.Sprintf("condition %+v", *c)
		}
		for _, n := range e.allNodes() {
			if named := strings.Contains(c.Message, n+" (to "); named != slices.Contains(nodes, n) {
				return fmt.Sprintf("message %q", c.Message)
			}
		}
		return ""
	})
}

// testCommunities: standard, large and aliased communities arrive at the
// router on every node's path.
func testCommunities(t *testing.T, e *env) {
	labtest.Apply(t, e.c, pool("e2e-comm", "192.0.2.64/28"))
	labtest.Apply(t, e.c, &v1beta1.Community{ObjectMeta: objMeta("e2e"), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{
		{Name: "e2e-tag", Value: "64512:777"},
		{Name: "e2e-large", Value: "large:64512:2:200"},
	}}})
	adv := advertisement("e2e-comm", "e2e-comm")
	adv.Spec.Communities = []v1beta1.CommunityOrAlias{"64512:100", "large:64512:1:100", "e2e-tag", "e2e-large"}
	labtest.Apply(t, e.c, adv)
	t.Cleanup(func() {
		labtest.Remove(t, e.c, adv)
		labtest.Remove(t, e.c, &v1beta1.Community{ObjectMeta: objMeta("e2e")})
		labtest.Remove(t, e.c, pool("e2e-comm"))
	})
	_, ip := e.service(t, "e2e-comm", "e2e-comm", corev1.ServiceExternalTrafficPolicyCluster)
	wantStd := []string{"64512:100", "64512:777"}
	wantLarge := []string{"64512:1:100", "64512:2:200"}
	labtest.Eventually(t, wait, fmt.Sprintf("the router's three paths to %s should carry %v and large %v", ip, wantStd, wantLarge), func() string {
		paths, err := e.paths(lab.RouterName, ip)
		if err != nil {
			return err.Error()
		}
		if len(paths) != 3 {
			return fmt.Sprintf("%d paths: %+v", len(paths), paths)
		}
		for _, p := range paths {
			var std, large []string
			if p.Community != nil {
				std = slices.Sorted(slices.Values(p.Community.List))
			}
			if p.LargeCommunity != nil {
				large = slices.Sorted(slices.Values(p.LargeCommunity.List))
			}
			if !slices.Equal(std, wantStd) || !slices.Equal(large, wantLarge) {
				return fmt.Sprintf("path from %s: communities %v, large %v", p.Peer.PeerID, std, large)
			}
		}
		return ""
	})
}

// testLocalFollowsPod: a Local Service is at the router only through the
// node running its pod, and follows the pod to another node.
func testLocalFollowsPod(t *testing.T, e *env) {
	svc, ip := e.service(t, "e2e-local", poolName, corev1.ServiceExternalTrafficPolicyLocal)
	ctx := context.Background()
	key := svcNS + "/" + svc.Name
	if _, err := e.lab.StartPod(ctx, lab.PodSpec{Name: "e2e-local-a", Node: "node2", Service: key}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.lab.StopPod(ctx, "e2e-local-a") })
	e.waitHops(t, ip, "node2")
	e.waitStatusSays(t, svc, ip, "node2")

	// The pod moves: a new one on node3, then the old one goes.
	if _, err := e.lab.StartPod(ctx, lab.PodSpec{Name: "e2e-local-b", Node: "node3", Service: key}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.lab.StopPod(ctx, "e2e-local-b") })
	e.waitHops(t, ip, "node2", "node3")
	if err := e.lab.StopPod(ctx, "e2e-local-a"); err != nil {
		t.Fatal(err)
	}
	e.waitHops(t, ip, "node3")
	e.waitStatusSays(t, svc, ip, "node3")
}

// testWithdrawEverywhere: deleting the Service withdraws its route from
// the router and from every node's BGP table.
func testWithdrawEverywhere(t *testing.T, e *env) {
	svc, ip := e.service(t, "e2e-withdraw", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	e.waitHops(t, ip, e.allNodes()...)
	labtest.Remove(t, e.c, svc)
	e.waitHops(t, ip)
	for _, name := range append([]string{lab.RouterName}, e.allNodes()...) {
		labtest.Eventually(t, wait, name+" should hold no BGP path to "+ip, func() string {
			paths, err := e.paths(name, ip)
			if err != nil {
				return err.Error()
			}
			if len(paths) > 0 {
				return fmt.Sprintf("paths %+v", paths)
			}
			return ""
		})
	}
}

// testLinkCut: a node whose LAN link is cut disappears from the router's
// next hops, and comes back when the link does.
func testLinkCut(t *testing.T, e *env) {
	_, ip := e.service(t, "e2e-linkcut", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	e.waitHops(t, ip, e.allNodes()...)
	ctx := context.Background()
	if err := e.lab.CutLink(ctx, "node3"); err != nil {
		t.Fatal(err)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = e.lab.RestoreLink(ctx, "node3")
		}
	})
	e.waitHops(t, ip, "node1", "node2")
	if err := e.lab.RestoreLink(ctx, "node3"); err != nil {
		t.Fatal(err)
	}
	restored = true
	e.waitHops(t, ip, e.allNodes()...)
}

// testNodeSelector: a node selector on the BGPPeer limits which nodes peer
// and so which nodes the router routes through.
func testNodeSelector(t *testing.T, e *env) {
	_, ip := e.service(t, "e2e-selector", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	e.waitHops(t, ip, e.allNodes()...)
	labtest.Apply(t, e.c, peer(peerName, "node1"))
	e.waitSessions(t, "node1")
	e.waitHops(t, ip, "node1")
}

// testLocalPrefIBGP: local-pref arrives over an iBGP peer. node3 peers
// with the router in the router's own AS (an explicit iBGP neighbor on the
// router), the other nodes over eBGP.
func testLocalPrefIBGP(t *testing.T, e *env) {
	ctx := context.Background()
	node3 := e.nodeAddrs(t, "node3")[0]
	// node3 leaves the eBGP peering before the router takes it as iBGP.
	labtest.Apply(t, e.c, peer(peerName, "node1", "node2"))
	e.waitSessions(t, "node1", "node2")
	if err := e.lab.ConfigureRouter(ctx, fmt.Sprintf("router bgp %d", lab.RouterASN),
		"neighbor "+node3+" remote-as internal",
		"neighbor "+node3+" bfd",
		"neighbor "+node3+" bfd profile "+lab.RouterBFDProfile,
		"address-family ipv4 unicast",
		"neighbor "+node3+" activate",
		"neighbor "+node3+" route-map lab-accept in",
		"neighbor "+node3+" route-map lab-send-none out",
	); err != nil {
		t.Fatal(err)
	}
	ibgp := peer("router-ibgp", "node3")
	ibgp.Spec.MyASN = lab.RouterASN
	labtest.Apply(t, e.c, ibgp)
	labtest.Apply(t, e.c, pool("e2e-lp", "192.0.2.80/28"))
	adv := advertisement("e2e-lp", "e2e-lp")
	adv.Spec.LocalPref = 250
	labtest.Apply(t, e.c, adv)
	t.Cleanup(func() {
		labtest.Remove(t, e.c, adv)
		labtest.Remove(t, e.c, pool("e2e-lp"))
		labtest.Remove(t, e.c, ibgp)
		if err := e.lab.ConfigureRouter(ctx, fmt.Sprintf("router bgp %d", lab.RouterASN), "no neighbor "+node3); err != nil {
			t.Errorf("removing the router's iBGP neighbor: %v", err)
		}
	})
	e.waitSessions(t, e.allNodes()...)

	_, ip := e.service(t, "e2e-lp", "e2e-lp", corev1.ServiceExternalTrafficPolicyCluster)
	labtest.Eventually(t, wait, "the router's iBGP path to "+ip+" from node3 should have local-pref 250", func() string {
		paths, err := e.paths(lab.RouterName, ip)
		if err != nil {
			return err.Error()
		}
		for _, p := range paths {
			if p.Peer.PeerID == node3 && p.Peer.Type == "internal" && p.LocPrf != nil && *p.LocPrf == 250 {
				return ""
			}
		}
		b, _ := json.Marshal(paths)
		return "paths " + string(b)
	})
}

// testPassword: a BGPPeer whose TCP-MD5 password comes from a Secret
// establishes with a router demanding it, and the password appears in no
// herald component's log, no event and no status.
func testPassword(t *testing.T, e *env) {
	ctx := context.Background()
	node2 := e.nodeAddrs(t, "node2")[0]
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	password := "e2e" + hex.EncodeToString(b)

	labtest.Apply(t, e.c, peer(peerName, "node1", "node3"))
	e.waitSessions(t, "node1", "node3")
	if err := e.lab.ConfigureRouter(ctx, fmt.Sprintf("router bgp %d", lab.RouterASN),
		"neighbor "+node2+" remote-as external",
		"neighbor "+node2+" password "+password,
		"neighbor "+node2+" bfd",
		"neighbor "+node2+" bfd profile "+lab.RouterBFDProfile,
		"address-family ipv4 unicast",
		"neighbor "+node2+" activate",
		"neighbor "+node2+" route-map lab-accept in",
		"neighbor "+node2+" route-map lab-send-none out",
	); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: objMeta("e2e-md5"),
		Type:       corev1.SecretTypeBasicAuth,
		StringData: map[string]string{"password": password},
	}
	labtest.Apply(t, e.c, secret)
	withPW := peer("router-md5", "node2")
	withPW.Spec.PasswordSecret = &corev1.SecretReference{Name: secret.Name, Namespace: ns}
	labtest.Apply(t, e.c, withPW)
	t.Cleanup(func() {
		labtest.Remove(t, e.c, withPW)
		labtest.Remove(t, e.c, secret)
		if err := e.lab.ConfigureRouter(ctx, fmt.Sprintf("router bgp %d", lab.RouterASN), "no neighbor "+node2); err != nil {
			t.Errorf("removing the router's neighbor with a password: %v", err)
		}
	})
	e.waitSessions(t, e.allNodes()...)
	_, ip := e.service(t, "e2e-md5", poolName, corev1.ServiceExternalTrafficPolicyCluster)
	e.waitHops(t, ip, e.allNodes()...)

	// Logs of herald's components.
	logs, err := filepath.Glob(filepath.Join(e.lab.Dir(), "logs", "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range logs {
		base := filepath.Base(f)
		if !strings.HasPrefix(base, "controller") && !strings.HasPrefix(base, "speaker") && !strings.HasPrefix(base, "frr-agent") {
			continue
		}
		checked++
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), password) {
			t.Errorf("the password appears in %s", f)
		}
	}
	if checked < 7 {
		t.Errorf("checked %d herald component logs in %s, want the controller's and each node's speaker and agent", checked, e.lab.Dir())
	}
	// Events, in every namespace.
	var events corev1.EventList
	if err := e.c.List(ctx, &events); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		if strings.Contains(ev.Message, password) {
			t.Errorf("the password appears in event %s/%s: %s", ev.Namespace, ev.Name, ev.Message)
		}
	}
	// Statuses of the BGPPeers and the NodeStates.
	var peers v1beta1.BGPPeerList
	if err := e.c.List(ctx, &peers, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var states v1beta1.NodeStateList
	if err := e.c.List(ctx, &states); err != nil {
		t.Fatal(err)
	}
	for name, status := range map[string]any{"BGPPeers": peers.Items, "NodeStates": states.Items} {
		js, err := json.Marshal(status)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(js), password) {
			t.Errorf("the password appears in the %s", name)
		}
	}
}
