package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/internal/testenv"
)

// Objects of TestInterop, beside the base ones.
const (
	interopPool     = "interop"
	interopBFD      = "interop"
	gobgpSecretName = "gobgp-password"
	// interopCycles is how many dual-stack Services are created and
	// deleted one after another while the resets are counted (twice as
	// many Service changes).
	interopCycles = 10
)

// Communities of the interop advertisement, as the routers print them.
var (
	interopCommunity = "64512:300"
	interopLarge     = "64512:3:4"
)

// TestInterop peers every node with the lab's BIRD 2 and GoBGP as well as
// its FRR router, over IPv4 and IPv6 (TCP-MD5 with GoBGP, BFD with BIRD),
// and checks what an operator of those routers sees: every session up in
// both families, a dual-stack Service's /32 and /128 at each router with
// one path per node and both communities intact (BIRD installs the three
// as ECMP), withdrawal on delete, and no session reset and no BFD down
// transition — counted by BIRD, GoBGP and the nodes' FRR — across
// interopCycles Service creates and deletes; then a drain of node1 as they
// see it (checkDrainAtRouters).
func TestInterop(t *testing.T) {
	testenv.RequireRoot(t)
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker, lab.FRRAgent)
	e := newEnv(t, l)
	e.reset(t)
	t.Cleanup(func() { e.reset(t) })
	e.base(t)
	e.interopObjects(t)
	ctx := context.Background()

	e.waitRouterSessions(t)
	// Sessions just opened: give BFD a moment to settle, then count.
	time.Sleep(2 * time.Second)
	before, err := e.lab.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}

	for i := range interopCycles {
		name := fmt.Sprintf("interop-%d", i)
		svc, ips := e.dualStackService(t, name)
		for _, ip := range ips {
			e.waitRouterPaths(t, ip, e.allNodes())
		}
		if i == 0 {
			e.checkCommunities(t, ips)
			e.waitBirdECMP(t, ips)
		}
		labtest.Remove(t, e.c, svc)
		for _, ip := range ips {
			e.waitRouterPaths(t, ip, nil)
		}
	}

	after, err := e.lab.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch := after.Since(before); len(ch.Detail) > 0 {
		t.Errorf("across %d dual-stack Service creates and deletes (%v), sessions reset or BFD went down:\n  %s",
			interopCycles, after.At.Sub(before.At).Round(time.Millisecond), strings.Join(ch.Detail, "\n  "))
	}

	// A drain as BIRD and GoBGP see it.
	_, ips := e.dualStackService(t, "interop-drain")
	for _, ip := range ips {
		e.waitRouterPaths(t, ip, e.allNodes())
	}
	e.checkDrainAtRouters(t, ips)
}

// interopObjects applies a dual-stack pool advertised with a standard and
// a large community, and the BGPPeers of every node with BIRD and GoBGP.
func (e *env) interopObjects(t *testing.T) {
	t.Helper()
	labtest.Apply(t, e.c, pool(interopPool, "192.0.2.64/27", "2001:db8:200::100/120"))
	adv := advertisement("interop", interopPool)
	adv.Spec.AggregationLengthV6 = ptr(int32(128))
	adv.Spec.Communities = []v1beta1.CommunityOrAlias{v1beta1.CommunityOrAlias(interopCommunity), v1beta1.CommunityOrAlias("large:" + interopLarge)}
	labtest.Apply(t, e.c, adv)
	// BIRD asks for 100 ms; the nodes' profile makes the negotiated
	// interval slower, so that a loaded 2-core CI machine does not flap.
	labtest.Apply(t, e.c, &v1beta1.BFDProfile{ObjectMeta: objMeta(interopBFD), Spec: v1beta1.BFDProfileSpec{
		ReceiveInterval: ptr(uint32(bfdInterval)), TransmitInterval: ptr(uint32(bfdInterval)), DetectMultiplier: ptr(uint32(bfdMult)),
	}})
	labtest.Apply(t, e.c, &corev1.Secret{
		ObjectMeta: objMeta(gobgpSecretName),
		Type:       corev1.SecretTypeBasicAuth,
		StringData: map[string]string{"password": lab.GoBGPPassword},
	})
	for _, p := range []struct {
		name string
		addr netip.Addr
		asn  uint32
	}{
		{"bird-v4", lab.BirdAddr4, lab.BirdASN}, {"bird-v6", lab.BirdAddr6, lab.BirdASN},
		{"gobgp-v4", lab.GoBGPAddr4, lab.GoBGPASN}, {"gobgp-v6", lab.GoBGPAddr6, lab.GoBGPASN},
	} {
		peer := &v1beta1.BGPPeer{ObjectMeta: objMeta(p.name), Spec: v1beta1.BGPPeerSpec{
			MyASN: myASN, PeerASN: p.asn, PeerAddress: p.addr.String(),
			HoldTime:      &metav1.Duration{Duration: 9 * time.Second},
			KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
			ConnectTime:   &metav1.Duration{Duration: 2 * time.Second},
		}}
		if strings.HasPrefix(p.name, "bird") {
			peer.Spec.BFDProfile = interopBFD
		} else {
			peer.Spec.PasswordSecret = &corev1.SecretReference{Name: gobgpSecretName, Namespace: ns}
		}
		labtest.Apply(t, e.c, peer)
	}
	t.Cleanup(func() {
		labtest.Remove(t, e.c, &corev1.Secret{ObjectMeta: objMeta(gobgpSecretName)})
	})
}

// waitRouterSessions waits until BIRD and GoBGP each have an Established
// session with every node in both families.
func (e *env) waitRouterSessions(t *testing.T) {
	t.Helper()
	var want4, want6 []string
	for _, n := range e.lab.Plan().Nodes {
		want4 = append(want4, n.LAN4.String())
		want6 = append(want6, n.LAN6.String())
	}
	labtest.Eventually(t, wait, "BIRD and GoBGP should have an Established session with every node in both families", func() string {
		ctx := context.Background()
		bird, err := e.lab.BirdSessions(ctx)
		if err != nil {
			return err.Error()
		}
		for _, n := range e.lab.Plan().Nodes {
			for _, p := range []string{n.Name + "_v4", n.Name + "_v6"} {
				if !bird[p] {
					return fmt.Sprintf("BIRD's %s is not Established: %v", p, bird)
				}
			}
		}
		g, err := e.lab.GoBGPNeighbors(ctx)
		if err != nil {
			return err.Error()
		}
		for _, a := range append(slices.Clone(want4), want6...) {
			if g[a].State.SessionState != 6 {
				return fmt.Sprintf("GoBGP's session with %s is in state %d", a, g[a].State.SessionState)
			}
		}
		return ""
	})
}

// dualStackService creates a dual-stack Service from the interop pool and
// waits for its two addresses, returned as host prefixes.
func (e *env) dualStackService(t *testing.T, name string) (*corev1.Service, []netip.Prefix) {
	t.Helper()
	svc := dualStackSpec(name)
	ctx := context.Background()
	if err := e.c.Create(ctx, svc); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
	t.Cleanup(func() { labtest.Remove(t, e.c, svc) })
	var ips []netip.Prefix
	labtest.Eventually(t, wait, "Service "+name+" should get an IPv4 and an IPv6 address", func() string {
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return err.Error()
		}
		ips = ips[:0]
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil {
				ips = append(ips, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		if len(ips) != 2 {
			return fmt.Sprintf("status %+v", svc.Status.LoadBalancer)
		}
		return ""
	})
	return svc, ips
}

// waitRouterPaths waits until BIRD and GoBGP each hold exactly one path
// to prefix from each of nodes (none: withdrawn everywhere).
func (e *env) waitRouterPaths(t *testing.T, prefix netip.Prefix, nodes []string) {
	t.Helper()
	var want []string
	for _, n := range nodes {
		node, _ := e.lab.Plan().Node(n)
		if prefix.Addr().Is4() {
			want = append(want, node.LAN4.String())
		} else {
			want = append(want, node.LAN6.String())
		}
	}
	slices.Sort(want)
	wantNames := slices.Clone(nodes)
	slices.Sort(wantNames)
	labtest.Eventually(t, wait, fmt.Sprintf("BIRD and GoBGP should hold %s from %v", prefix, nodes), func() string {
		ctx := context.Background()
		g, err := e.gobgpPaths(ctx, prefix)
		if err != nil {
			return err.Error()
		}
		var from []string
		for _, p := range g {
			from = append(from, p.From)
		}
		slices.Sort(from)
		if !slices.Equal(from, want) {
			return fmt.Sprintf("GoBGP has it from %v", from)
		}
		b, err := e.birdPaths(ctx, prefix)
		if err != nil {
			return err.Error()
		}
		from = from[:0]
		for _, p := range b {
			from = append(from, p.From)
		}
		slices.Sort(from)
		if !slices.Equal(from, wantNames) {
			return fmt.Sprintf("BIRD has it from %v", from)
		}
		return ""
	})
}

// checkCommunities checks that every path at BIRD and GoBGP carries the
// advertisement's standard and large community.
func (e *env) checkCommunities(t *testing.T, prefixes []netip.Prefix) {
	t.Helper()
	ctx := context.Background()
	for _, pfx := range prefixes {
		g, err := e.gobgpPaths(ctx, pfx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.birdPaths(ctx, pfx)
		if err != nil {
			t.Fatal(err)
		}
		for router, paths := range map[string][]routerPath{"GoBGP": g, "BIRD": b} {
			for _, p := range paths {
				if !slices.Contains(p.Communities, interopCommunity) || !slices.Contains(p.LargeCommunities, interopLarge) {
					t.Errorf("%s's path to %s from %s carries communities %v and large %v; want %s and %s",
						router, pfx, p.From, p.Communities, p.LargeCommunities, interopCommunity, interopLarge)
				}
			}
		}
	}
}

// waitBirdECMP waits until BIRD's kernel table routes each prefix over
// every node: BIRD merged the equal paths into one ECMP route.
func (e *env) waitBirdECMP(t *testing.T, prefixes []netip.Prefix) {
	t.Helper()
	for _, pfx := range prefixes {
		var want []string
		for _, n := range e.lab.Plan().Nodes {
			if pfx.Addr().Is4() {
				want = append(want, n.LAN4.String())
			} else {
				want = append(want, n.LAN6.String())
			}
		}
		slices.Sort(want)
		labtest.Eventually(t, wait, fmt.Sprintf("BIRD's kernel route to %s should have next hops %v", pfx, want), func() string {
			got, err := e.kernelHops(context.Background(), pfx)
			if err != nil {
				return err.Error()
			}
			if !slices.Equal(got, want) {
				return fmt.Sprintf("they are %v", got)
			}
			return ""
		})
	}
}

// checkDrainAtRouters cordons node1 while BIRD and GoBGP hold the paths of
// prefixes from every node: each router's import policy (RFC 8326, as
// their operators write it) ranks node1's path, now carrying 65535:0, last
// — LOCAL_PREF 0 at BIRD, whose kernel ECMP set leaves node1 while its path
// is still there, and 1 at GoBGP — before node1 withdraws; uncordoning
// brings node1's paths back.
func (e *env) checkDrainAtRouters(t *testing.T, prefixes []netip.Prefix) {
	t.Helper()
	ctx := context.Background()
	node1, _ := e.lab.Plan().Node("node1")
	t.Cleanup(func() { _ = e.lab.Cordon(context.Background(), "node1", false) })
	if err := e.lab.Cordon(ctx, "node1", true); err != nil {
		t.Fatal(err)
	}
	lp := func(p routerPath) string {
		if p.LocalPref == nil {
			return "none"
		}
		return fmt.Sprint(*p.LocalPref)
	}
	// Both prefixes within the graceful-shutdown phase (--drain-wait, 5 s):
	// each is checked until it was seen so once.
	seen := map[netip.Prefix]bool{}
	labtest.Eventually(t, wait, "BIRD and GoBGP should rank node1's graceful-shutdown paths last while they hold them", func() string {
		var why []string
		for _, prefix := range prefixes {
			if seen[prefix] {
				continue
			}
			if w := e.rankedLast(ctx, prefix, node1, lp); w != "" {
				why = append(why, prefix.String()+": "+w)
				continue
			}
			seen[prefix] = true
		}
		return strings.Join(why, "; ")
	})
	for _, prefix := range prefixes {
		e.waitRouterPaths(t, prefix, []string{"node2", "node3"})
	}
	if err := e.lab.Cordon(ctx, "node1", false); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range prefixes {
		e.waitRouterPaths(t, prefix, e.allNodes())
	}
}

// rankedLast returns "" when node's path to prefix is at GoBGP with
// 65535:0 and LOCAL_PREF 1, and at BIRD with 65535:0 and LOCAL_PREF 0 but
// out of BIRD's kernel ECMP set; else what is not so.
func (e *env) rankedLast(ctx context.Context, prefix netip.Prefix, node lab.Node, lp func(routerPath) string) string {
	addr := node.LAN4.String()
	if prefix.Addr().Is6() {
		addr = node.LAN6.String()
	}
	g, err := e.gobgpPaths(ctx, prefix)
	if err != nil {
		return err.Error()
	}
	i := slices.IndexFunc(g, func(p routerPath) bool { return p.From == addr })
	if i < 0 || !slices.Contains(g[i].Communities, "65535:0") || lp(g[i]) != "1" {
		return fmt.Sprintf("GoBGP's paths %+v", g)
	}
	b, err := e.birdPaths(ctx, prefix)
	if err != nil {
		return err.Error()
	}
	i = slices.IndexFunc(b, func(p routerPath) bool { return p.From == node.Name })
	if i < 0 || !slices.Contains(b[i].Communities, "65535:0") || lp(b[i]) != "0" {
		return fmt.Sprintf("BIRD's paths %+v", b)
	}
	hops, err := e.kernelHops(ctx, prefix)
	if err != nil {
		return err.Error()
	}
	if slices.Contains(hops, addr) || len(hops) == 0 {
		return fmt.Sprintf("BIRD's kernel route goes through %v", hops)
	}
	return ""
}
