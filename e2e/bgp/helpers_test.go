package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// ns is herald's namespace in the lab; svcNS holds the tests' Services.
const (
	ns    = lab.HeraldNamespace
	svcNS = "default"
	// poolAnnotation pins a Service to a pool.
	poolAnnotation = "heraldlb.io/address-pool"
	// wait bounds every wait for the router or the API server to follow a
	// change: an FRR reload on a loaded 2-core machine takes seconds.
	wait = 90 * time.Second
	// myASN is the nodes' ASN in eBGP; the router's is lab.RouterASN.
	myASN = 64512
)

// env is the shared lab and a client of herald's API on it.
type env struct {
	lab *lab.Lab
	c   client.Client
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

// vtyshJSON runs cmd on the FRR of name (router or nodeN) and decodes its
// JSON answer into v.
func (e *env) vtyshJSON(name, cmd string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := e.lab.Vtysh(ctx, name, cmd)
	if err != nil {
		return fmt.Errorf("vtysh %s %q: %w", name, cmd, err)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("vtysh %s %q: decoding %q: %w", name, cmd, out, err)
	}
	return nil
}

// nextHops returns the sorted active next hops of the router's selected
// route to ip/32 (none when it has no such route).
func (e *env) nextHops(ip string) ([]string, error) {
	var rib map[string][]struct {
		Selected bool `json:"selected"`
		Nexthops []struct {
			IP     string `json:"ip"`
			Active bool   `json:"active"`
		} `json:"nexthops"`
	}
	p := ip + "/32"
	if err := e.vtyshJSON(lab.RouterName, "show ip route "+p+" json", &rib); err != nil {
		return nil, err
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

// bgpPath is one path of a BGP table entry.
type bgpPath struct {
	LocPrf    *uint32 `json:"locPrf"`
	Community *struct {
		List []string `json:"list"`
	} `json:"community"`
	LargeCommunity *struct {
		List []string `json:"list"`
	} `json:"largeCommunity"`
	Peer struct {
		PeerID string `json:"peerId"`
		Type   string `json:"type"`
	} `json:"peer"`
}

// paths returns the BGP paths FRR name holds for ip/32.
func (e *env) paths(name, ip string) ([]bgpPath, error) {
	var entry struct {
		Paths []bgpPath `json:"paths"`
	}
	if err := e.vtyshJSON(name, "show bgp ipv4 unicast "+ip+"/32 json", &entry); err != nil {
		return nil, err
	}
	return entry.Paths, nil
}

// sessions returns the router's IPv4 BGP peers and their states.
func (e *env) sessions() (map[string]string, error) {
	var sum struct {
		Peers map[string]struct {
			State string `json:"state"`
		} `json:"peers"`
	}
	if err := e.vtyshJSON(lab.RouterName, "show bgp ipv4 unicast summary json", &sum); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for p, s := range sum.Peers {
		m[p] = s.State
	}
	return m, nil
}

// nodeAddrs returns the LAN IPv4 addresses of the named nodes, sorted.
func (e *env) nodeAddrs(t *testing.T, names ...string) []string {
	t.Helper()
	var a []string
	for _, n := range names {
		node, ok := e.lab.Plan().Node(n)
		if !ok {
			t.Fatalf("the lab has no node %q", n)
		}
		a = append(a, node.LAN4.String())
	}
	slices.Sort(a)
	return a
}

// allNodes returns the lab's node names.
func (e *env) allNodes() []string {
	var n []string
	for _, node := range e.lab.Plan().Nodes {
		n = append(n, node.Name)
	}
	return n
}

// waitHops waits until the router's next hops for ip are exactly those of
// nodes (none: no route).
func (e *env) waitHops(t *testing.T, ip string, nodes ...string) {
	t.Helper()
	want := e.nodeAddrs(t, nodes...)
	labtest.Eventually(t, wait, fmt.Sprintf("the router's next hops for %s should be %v", ip, want), func() string {
		got, err := e.nextHops(ip)
		if err != nil {
			return err.Error()
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("they are %v", got)
		}
		return ""
	})
}

// waitSessions waits until the router's IPv4 sessions are Established with
// exactly the named nodes.
func (e *env) waitSessions(t *testing.T, nodes ...string) {
	t.Helper()
	want := e.nodeAddrs(t, nodes...)
	labtest.Eventually(t, wait, fmt.Sprintf("the router should have Established sessions with %v only", want), func() string {
		s, err := e.sessions()
		if err != nil {
			return err.Error()
		}
		var up []string
		for p, st := range s {
			if st == "Established" {
				up = append(up, p)
			}
		}
		slices.Sort(up)
		if !slices.Equal(up, want) {
			return fmt.Sprintf("sessions are %v", s)
		}
		return ""
	})
}

func objMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }

func ptr[T any](v T) *T { return &v }

// hostnameIn selects the named nodes.
func hostnameIn(nodes ...string) []metav1.LabelSelector {
	return []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/hostname", Operator: metav1.LabelSelectorOpIn, Values: nodes,
	}}}}
}

// peer is an eBGP peering of the selected nodes (every node when none)
// with the router, guarded by BFD profile bfdName.
func peer(name string, nodes ...string) *v1beta1.BGPPeer {
	p := &v1beta1.BGPPeer{
		ObjectMeta: objMeta(name),
		Spec: v1beta1.BGPPeerSpec{
			MyASN:         myASN,
			PeerASN:       lab.RouterASN,
			PeerAddress:   lab.RouterAddr4.String(),
			HoldTime:      &metav1.Duration{Duration: 9 * time.Second},
			KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
			ConnectTime:   &metav1.Duration{Duration: 2 * time.Second},
			BFDProfile:    bfdName,
		},
	}
	if len(nodes) > 0 {
		p.Spec.NodeSelectors = hostnameIn(nodes...)
	}
	return p
}

// Base objects: every subtest starts from them (see base).
const (
	poolName = "e2e"
	advName  = "e2e"
	peerName = "router"
	bfdName  = "e2e"
	// BFD intervals of the tests: slow enough that a loaded CI machine
	// does not flap (the bench measures the 50 ms profile).
	bfdInterval = 200
	bfdMult     = 5
)

func pool(name string, addrs ...string) *v1beta1.IPAddressPool {
	p := &v1beta1.IPAddressPool{ObjectMeta: objMeta(name)}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	return p
}

func advertisement(name string, pools ...string) *v1beta1.BGPAdvertisement {
	return &v1beta1.BGPAdvertisement{
		ObjectMeta: objMeta(name),
		Spec:       v1beta1.BGPAdvertisementSpec{IPAddressPools: pools, AggregationLength: ptr(int32(32))},
	}
}

// base applies the objects every subtest starts from: a pool, a BFD
// profile, one eBGP BGPPeer of every node to the router and a plain
// advertisement of the pool; then waits for the three sessions.
func (e *env) base(t *testing.T) {
	t.Helper()
	labtest.Apply(t, e.c, pool(poolName, "192.0.2.0/27"))
	labtest.Apply(t, e.c, &v1beta1.BFDProfile{ObjectMeta: objMeta(bfdName), Spec: v1beta1.BFDProfileSpec{
		ReceiveInterval: ptr(uint32(bfdInterval)), TransmitInterval: ptr(uint32(bfdInterval)), DetectMultiplier: ptr(uint32(bfdMult)),
	}})
	labtest.Apply(t, e.c, peer(peerName))
	labtest.Apply(t, e.c, advertisement(advName, poolName))
	e.waitSessions(t, e.allNodes()...)
}

// reset deletes every herald object in herald's namespace and every
// LoadBalancer Service of the tests' namespace: what an earlier run or the
// demo left on the lab.
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

// service creates a single-stack IPv4 LoadBalancer Service from pool with
// the given traffic policy, waits for its address and deletes it (and
// waits for the router to forget it) when t ends.
func (e *env) service(t *testing.T, name, pool string, policy corev1.ServiceExternalTrafficPolicy) (*corev1.Service, string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{poolAnnotation: pool}},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			ExternalTrafficPolicy: policy,
			Selector:              map[string]string{"app": name},
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	ctx := context.Background()
	if err := e.c.Create(ctx, svc); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
	var ip string
	t.Cleanup(func() {
		labtest.Remove(t, e.c, svc)
		if ip != "" {
			e.waitHops(t, ip)
		}
	})
	labtest.Eventually(t, wait, "Service "+name+" should get an address", func() string {
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return err.Error()
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Sprintf("status %+v", svc.Status)
		}
		ip = svc.Status.LoadBalancer.Ingress[0].IP
		return ""
	})
	return svc, ip
}
