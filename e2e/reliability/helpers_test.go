package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
)

const (
	// ns is herald's namespace in the lab; svcNS holds the Service.
	ns    = lab.HeraldNamespace
	svcNS = "default"
	// wait bounds every wait for the router or the API server to follow
	// a change: an FRR reload on a loaded 2-core machine takes seconds.
	wait = 90 * time.Second
	// myASN is the nodes' ASN.
	myASN = 64512
	// Names of the live objects every case starts from.
	poolName = "live"
	peerName = "router"
	advName  = "live"
	commName = "live"
	svcName  = "healthy"
	// liveAlias is the Community alias the live advertisement uses.
	liveAlias = "tag"
)

// env is the lab and a client of its API server.
type env struct {
	lab *lab.Lab
	c   client.Client
	// ip is the healthy Service's address; hops its expected next hops.
	ip   string
	hops []string
}

func newEnv(t *testing.T, l *lab.Lab) *env {
	t.Helper()
	ctrllog.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(l.RESTConfig(), client.Options{Scheme: s})
	if err != nil {
		t.Fatalf("client of the lab's API server: %v", err)
	}
	return &env{lab: l, c: c}
}

func objMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }

func ptr[T any](v T) *T { return &v }

// livePeer is the BGPPeer of every node with the router.
func livePeer(name string) *v1beta1.BGPPeer {
	return &v1beta1.BGPPeer{ObjectMeta: objMeta(name), Spec: v1beta1.BGPPeerSpec{
		MyASN: myASN, PeerASN: lab.RouterASN, PeerAddress: lab.RouterAddr4.String(),
		HoldTime:      &metav1.Duration{Duration: 9 * time.Second},
		KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
		ConnectTime:   &metav1.Duration{Duration: 2 * time.Second},
	}}
}

// liveObjects are what every case starts from: a pool, a peer of every
// node with the router, a Community alias and an advertisement of the pool
// using it.
func liveObjects() []client.Object {
	return []client.Object{
		&v1beta1.IPAddressPool{ObjectMeta: objMeta(poolName), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/27"}}},
		livePeer(peerName),
		&v1beta1.Community{ObjectMeta: objMeta(commName), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: liveAlias, Value: "64512:100"}}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: objMeta(advName), Spec: v1beta1.BGPAdvertisementSpec{
			IPAddressPools: []string{poolName}, AggregationLength: ptr(int32(32)), Communities: []v1beta1.CommunityOrAlias{liveAlias}}},
	}
}

// reset deletes every herald object of herald's namespace and every
// LoadBalancer Service of the Service namespace.
func (e *env) reset(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, obj := range []client.Object{&v1beta1.BGPPeer{}, &v1beta1.BGPAdvertisement{}, &v1beta1.L2Advertisement{},
		&v1beta1.Community{}, &v1beta1.BFDProfile{}, &v1beta1.IPAddressPool{}} {
		if err := e.c.DeleteAllOf(ctx, obj, client.InNamespace(ns)); err != nil {
			t.Fatalf("resetting %T: %v", obj, err)
		}
	}
	var svcs corev1.ServiceList
	if err := e.c.List(ctx, &svcs, client.InNamespace(svcNS)); err != nil {
		t.Fatal(err)
	}
	for i := range svcs.Items {
		if svcs.Items[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
			labtest.Remove(t, e.c, &svcs.Items[i])
		}
	}
}

// healthy applies the live objects and the healthy Service and waits for
// the router to route it through every node.
func (e *env) healthy(t *testing.T) {
	t.Helper()
	for _, o := range liveObjects() {
		labtest.Apply(t, e.c, o)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svcName, Namespace: svcNS},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Selector:   map[string]string{"app": svcName},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	labtest.Apply(t, e.c, svc)
	ctx := context.Background()
	labtest.Eventually(t, wait, "the healthy Service should get an address", func() string {
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return err.Error()
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Sprintf("status %+v", svc.Status)
		}
		e.ip = svc.Status.LoadBalancer.Ingress[0].IP
		return ""
	})
	e.hops = nil
	for _, n := range e.lab.Plan().Nodes {
		e.hops = append(e.hops, n.LAN4.String())
	}
	slices.Sort(e.hops)
	e.waitHealthy(t)
}

// waitHealthy waits until the router routes the healthy Service through
// every node.
func (e *env) waitHealthy(t *testing.T) {
	t.Helper()
	labtest.Eventually(t, wait, fmt.Sprintf("the router's next hops for %s should be %v", e.ip, e.hops), func() string {
		got, err := e.nextHops(e.ip)
		if err != nil {
			return err.Error()
		}
		if !slices.Equal(got, e.hops) {
			return fmt.Sprintf("they are %v", got)
		}
		return ""
	})
}

// waitSteady waits until the router has kept every next hop of the healthy
// Service for d, starting the count again after each sample without them;
// it logs each such dip with the router's sessions, so a late reset after a
// disturbing case is seen rather than charged to the case after it.
func (e *env) waitSteady(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		rs, err := e.lab.SampleRoute(context.Background(), lab.RouterName, e.ip, 50*time.Millisecond)
		if err != nil {
			t.Fatalf("sampling the router's routes: %v", err)
		}
		time.Sleep(d)
		samples := rs.Stop()
		if err := rs.Err(); err != nil {
			t.Fatalf("sampling the router's routes: %v", err)
		}
		dip := -1
		for i, smp := range samples {
			if !slices.Equal(smp.Hops, e.hops) {
				dip = i
				break
			}
		}
		if dip < 0 {
			return
		}
		t.Logf("after the case was undone the router's next hops were %v at %s; its sessions:\n%s",
			samples[dip].Hops, samples[dip].At.Format("15:04:05.000"), e.sessions())
		e.waitHealthy(t)
	}
	t.Fatalf("the router did not keep %v for %s within %s", e.hops, d, wait)
}

// nextHops returns the sorted active next hops of the router's selected
// route to ip/32.
func (e *env) nextHops(ip string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := ip + "/32"
	out, err := e.lab.Vtysh(ctx, lab.RouterName, "show ip route "+p+" json")
	if err != nil {
		return nil, fmt.Errorf("vtysh: %w", err)
	}
	var rib map[string][]struct {
		Selected bool `json:"selected"`
		Nexthops []struct {
			IP     string `json:"ip"`
			Active bool   `json:"active"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal([]byte(out), &rib); err != nil {
		return nil, fmt.Errorf("decoding %q: %w", out, err)
	}
	var hops []string
	for _, r := range rib[p] {
		if !r.Selected {
			continue
		}
		for _, h := range r.Nexthops {
			if h.Active {
				hops = append(hops, h.IP)
			}
		}
	}
	slices.Sort(hops)
	return hops, nil
}

// sessions describes the router's BGP sessions with the nodes: state,
// established and dropped counts, and FRR's reason for the last reset, so
// a test that saw a route go can say which session went and why.
func (e *env) sessions() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := e.lab.Vtysh(ctx, lab.RouterName, "show bgp neighbors json")
	if err != nil {
		return "vtysh: " + err.Error()
	}
	var nbrs map[string]struct {
		State       string `json:"bgpState"`
		Established int    `json:"connectionsEstablished"`
		Dropped     int    `json:"connectionsDropped"`
		LastReset   string `json:"lastResetDueTo"`
		ResetAgo    int    `json:"lastResetTimerMsecs"`
	}
	if err := json.Unmarshal([]byte(out), &nbrs); err != nil {
		return fmt.Sprintf("decoding %q: %v", out, err)
	}
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(nbrs)) {
		v := nbrs[n]
		fmt.Fprintf(&b, "%s %s established %d dropped %d, last reset %s ago: %s\n", n, v.State, v.Established, v.Dropped,
			time.Duration(v.ResetAgo)*time.Millisecond, v.LastReset)
	}
	return b.String()
}
