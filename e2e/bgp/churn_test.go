package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestWithdrawUnderChurn repeats the pattern under which a withdrawal was
// once lost (issue 14, item 5: a route not withdrawn in 2 of ~10 bench runs,
// on addresses that had been used before): Services created in a burst,
// half of them deleted the moment they get their addresses — while the
// nodes still apply their announcement — and created again at once under
// the same names, which hands them the freed addresses again; then all
// deleted. After each step every router (FRR, BIRD, GoBGP) must hold
// exactly the live Services' prefixes of the pool, from every node: not
// one more (a missed withdrawal), not one fewer. The routers' RIBs are
// read, not their kernel tables' notifications, so a lost `ip monitor`
// message cannot pass for a lost withdrawal, nor hide one.
func TestWithdrawUnderChurn(t *testing.T) {
	testenv.RequireRoot(t)
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker, lab.FRRAgent)
	e := newEnv(t, l)
	e.reset(t)
	t.Cleanup(func() { e.reset(t) })
	e.base(t)
	e.interopObjects(t)
	e.waitRouterSessions(t)
	time.Sleep(2 * time.Second)
	ctx := context.Background()
	before, err := l.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const rounds, burst = 4, 8
	for r := range rounds {
		names := make([]string, burst)
		for i := range names {
			names[i] = fmt.Sprintf("churn-%d-%d", r, i)
			e.createDualStack(t, names[i])
		}
		// Half of them go the moment they have addresses, while the
		// nodes are still applying, and come back at once.
		for i := 0; i < burst; i += 2 {
			e.waitAddresses(t, names[i])
			e.deleteService(t, names[i])
		}
		for i := 0; i < burst; i += 2 {
			e.createDualStack(t, names[i])
		}
		e.waitRoutersHold(t, fmt.Sprintf("round %d, all %d Services live", r, burst), e.liveChurnPrefixes(t))
		for _, n := range names {
			e.deleteService(t, n)
		}
		e.waitRoutersHold(t, fmt.Sprintf("round %d, all deleted", r), nil)
	}

	after, err := l.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch := after.Since(before); len(ch.Detail) > 0 {
		t.Errorf("during the churn, sessions reset or BFD went down:\n  %s", strings.Join(ch.Detail, "\n  "))
	}
}

// createDualStack creates a dual-stack Service of the interop pool,
// without waiting for anything.
func (e *env) createDualStack(t *testing.T, name string) {
	t.Helper()
	svc := dualStackSpec(name)
	if err := e.c.Create(context.Background(), svc); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
	t.Cleanup(func() { labtest.Remove(t, e.c, svc) })
}

// dualStackSpec is a RequireDualStack LoadBalancer Service of the interop
// pool.
func dualStackSpec(name string) *corev1.Service {
	policy := corev1.IPFamilyPolicyRequireDualStack
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{poolAnnotation: interopPool}},
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeLoadBalancer,
			IPFamilyPolicy: &policy,
			IPFamilies:     []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			Selector:       map[string]string{"app": name},
			Ports:          []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// deleteService deletes a Service of svcNS and waits until it is gone.
func (e *env) deleteService(t *testing.T, name string) {
	t.Helper()
	labtest.Remove(t, e.c, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS}})
}

// waitAddresses polls every 10 ms until Service name has both addresses.
func (e *env) waitAddresses(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(wait)
	var svc corev1.Service
	for {
		err := e.c.Get(ctx, client.ObjectKey{Namespace: svcNS, Name: name}, &svc)
		if err == nil && len(svc.Status.LoadBalancer.Ingress) == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Service %s has no two addresses after %s (err %v, status %+v)", name, wait, err, svc.Status.LoadBalancer)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveChurnPrefixes waits until every LoadBalancer Service of svcNS has
// its two addresses and returns them as host prefixes.
func (e *env) liveChurnPrefixes(t *testing.T) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	labtest.Eventually(t, wait, "every Service should have two addresses", func() string {
		var svcs corev1.ServiceList
		if err := e.c.List(context.Background(), &svcs, client.InNamespace(svcNS)); err != nil {
			return err.Error()
		}
		out = out[:0]
		for _, s := range svcs.Items {
			if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
				continue
			}
			if len(s.Status.LoadBalancer.Ingress) != 2 {
				return fmt.Sprintf("Service %s has addresses %+v", s.Name, s.Status.LoadBalancer.Ingress)
			}
			for _, in := range s.Status.LoadBalancer.Ingress {
				a := netip.MustParseAddr(in.IP)
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		return ""
	})
	return out
}

// interopRanges are the interop pool's addresses: the churn tests look at
// routes inside them only.
var interopRanges = []netip.Prefix{netip.MustParsePrefix("192.0.2.64/27"), netip.MustParsePrefix("2001:db8:200::100/120")}

func inInterop(p netip.Prefix) bool {
	for _, r := range interopRanges {
		if r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// waitRoutersHold waits until each router holds exactly want among the
// interop pool's prefixes, each from every node. It fails naming each
// router's extra and missing prefixes and, for an extra one, the nodes
// whose FRR still announces it.
func (e *env) waitRoutersHold(t *testing.T, step string, want []netip.Prefix) {
	t.Helper()
	nodes := e.allNodes()
	slices.Sort(nodes)
	start := time.Now()
	var last string
	for {
		last = e.routersDiffer(want, nodes)
		if last == "" {
			t.Logf("%s: every router holds the %d expected prefixes after %v", step, len(want), time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Errorf("%s: after %v the routers still differ from the live Services:\n%s\nwhat the nodes announce:\n%s",
				step, time.Since(start).Round(time.Millisecond), last, e.nodeAnnouncements())
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// routersDiffer compares each router's table to want (every prefix from
// every node of nodes) and describes the differences; "" when none.
func (e *env) routersDiffer(want []netip.Prefix, nodes []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tables := map[string]func(context.Context) (map[netip.Prefix][]string, error){
		"GoBGP": e.gobgpTable, "BIRD": e.birdTable, "FRR router": e.frrRouterTable,
	}
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		got, err := tables[name](ctx)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, p := range want {
			if from := got[p]; !slices.Equal(from, nodes) {
				diffs = append(diffs, fmt.Sprintf("%s: %s from %v, want from %v", name, p, from, nodes))
			}
		}
		for p, from := range got {
			if !slices.Contains(want, p) {
				diffs = append(diffs, fmt.Sprintf("%s: %s still held from %v (not withdrawn)", name, p, from))
			}
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "\n")
}

// gobgpTable returns GoBGP's interop-pool prefixes and the nodes each
// came from.
func (e *env) gobgpTable(ctx context.Context) (map[netip.Prefix][]string, error) {
	byAddr := map[string]string{}
	for _, n := range e.lab.Plan().Nodes {
		byAddr[n.LAN4.String()], byAddr[n.LAN6.String()] = n.Name, n.Name
	}
	out := map[netip.Prefix][]string{}
	for _, fam := range []string{"ipv4", "ipv6"} {
		text, err := e.lab.GoBGP(ctx, "global", "rib", "-a", fam, "-j")
		if err != nil {
			return nil, err
		}
		var rib map[string][]struct {
			From string `json:"neighbor-ip"`
		}
		if err := json.Unmarshal([]byte(text), &rib); err != nil {
			return nil, fmt.Errorf("decoding gobgp global rib -a %s: %w", fam, err)
		}
		for k, paths := range rib {
			p, err := netip.ParsePrefix(k)
			if err != nil || !inInterop(p) {
				continue
			}
			for _, path := range paths {
				out[p] = append(out[p], byAddr[path.From])
			}
			slices.Sort(out[p])
		}
	}
	return out, nil
}

var (
	birdRoute = regexp.MustCompile(`^(\S+/\d+)\s+unicast \[(node\d+)_v[46] `)
	birdMore  = regexp.MustCompile(`^\s+unicast \[(node\d+)_v[46] `)
)

// birdTable returns BIRD's interop-pool prefixes and the nodes each came
// from.
func (e *env) birdTable(ctx context.Context) (map[netip.Prefix][]string, error) {
	text, err := e.lab.BirdC(ctx, "show", "route")
	if err != nil {
		return nil, err
	}
	out := map[netip.Prefix][]string{}
	var cur netip.Prefix
	for _, l := range strings.Split(text, "\n") {
		if m := birdRoute.FindStringSubmatch(l); m != nil {
			p, err := netip.ParsePrefix(m[1])
			if err != nil {
				return nil, fmt.Errorf("BIRD's route line %q: %w", l, err)
			}
			cur = p
			if inInterop(p) {
				out[p] = append(out[p], m[2])
			}
			continue
		}
		if m := birdMore.FindStringSubmatch(l); m != nil && cur.IsValid() && inInterop(cur) {
			out[cur] = append(out[cur], m[1])
		}
	}
	for p := range out {
		slices.Sort(out[p])
	}
	return out, nil
}

// frrRouterTable returns the FRR router's interop-pool prefixes and the
// nodes each came from.
func (e *env) frrRouterTable(ctx context.Context) (map[netip.Prefix][]string, error) {
	byAddr := map[string]string{}
	for _, n := range e.lab.Plan().Nodes {
		byAddr[n.LAN4.String()], byAddr[n.LAN6.String()] = n.Name, n.Name
	}
	out := map[netip.Prefix][]string{}
	for _, fam := range []string{"ipv4", "ipv6"} {
		var table struct {
			Routes map[string][]struct {
				PeerID string `json:"peerId"`
			} `json:"routes"`
		}
		if err := e.vtyshJSON(lab.RouterName, "show bgp "+fam+" unicast json", &table); err != nil {
			return nil, err
		}
		for k, paths := range table.Routes {
			p, err := netip.ParsePrefix(k)
			if err != nil || !inInterop(p) {
				continue
			}
			for _, path := range paths {
				out[p] = append(out[p], byAddr[path.PeerID])
			}
			slices.Sort(out[p])
		}
	}
	return out, nil
}

// nodeAnnouncements lists, per node, the interop-pool networks in its
// FRR's running config: what it means to announce.
func (e *env) nodeAnnouncements() string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var b strings.Builder
	for _, n := range e.allNodes() {
		out, err := e.lab.Vtysh(ctx, n, "show running-config")
		if err != nil {
			fmt.Fprintf(&b, "  %s: %v\n", n, err)
			continue
		}
		var nets []string
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) == 2 && f[0] == "network" {
				if p, err := netip.ParsePrefix(f[1]); err == nil && inInterop(p) {
					nets = append(nets, f[1])
				}
			}
		}
		fmt.Fprintf(&b, "  %s: %v\n", n, nets)
	}
	return b.String()
}
