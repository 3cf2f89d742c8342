package l2

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/speaker/l2/owner"
)

const (
	ns    = lab.HeraldNamespace
	svcNS = "default"
	// poolAnnotation pins a Service to a pool.
	poolAnnotation = "heraldlb.io/address-pool"
	// wait bounds every wait for the speakers or the API server to follow
	// a change on a loaded 2-core machine.
	wait = 60 * time.Second
	// Base objects (see base).
	pool4, pool6, advName = "l2-v4", "l2-v6", "l2"
)

// env is the shared lab, a client of its API server and its nodes' MACs.
type env struct {
	lab  *lab.Lab
	c    client.Client
	macs map[string]string // LAN MAC -> node
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
	macs, err := NodeMACs(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return &env{lab: l, c: c, macs: macs}
}

// reset deletes every herald object in herald's namespace and every
// LoadBalancer Service of the tests' namespace, and waits until no node
// answers for any address.
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
	labtest.Eventually(t, wait, "the NodeStates should list no L2 announcement", func() string {
		owners, err := e.l2Owners()
		if err != nil {
			return err.Error()
		}
		if len(owners) > 0 {
			return fmt.Sprintf("they list %v", owners)
		}
		return ""
	})
}

// base applies an IPv4 and an IPv6 pool and one L2Advertisement of both
// on the nodes' LAN interface, and no BGP object.
func (e *env) base(t *testing.T) {
	t.Helper()
	labtest.Apply(t, e.c, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: pool4, Namespace: ns},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/26"}}})
	labtest.Apply(t, e.c, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: pool6, Namespace: ns},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"2001:db8:200::/120"}}})
	labtest.Apply(t, e.c, &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: advName, Namespace: ns},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{pool4, pool6}, Interfaces: []v1beta1.InterfaceName{LANLink}}})
}

// service creates a single-stack LoadBalancer Service from pool and waits
// for its address.
func (e *env) service(t *testing.T, name, pool string, fam corev1.IPFamily, policy corev1.ServiceExternalTrafficPolicy) (*corev1.Service, netip.Addr) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{poolAnnotation: pool}},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			IPFamilies:            []corev1.IPFamily{fam},
			ExternalTrafficPolicy: policy,
			Selector:              map[string]string{"app": name},
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	ctx := context.Background()
	if err := e.c.Create(ctx, svc); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
	var ip netip.Addr
	labtest.Eventually(t, wait, "Service "+name+" should get an address", func() string {
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return err.Error()
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Sprintf("status %+v", svc.Status)
		}
		var err error
		if ip, err = netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP); err != nil {
			return err.Error()
		}
		return ""
	})
	return svc, ip
}

// l2Owners maps every IP some NodeState lists in its L2 announcements to
// the nodes listing it (with the interface: "node1/lan").
func (e *env) l2Owners() (map[netip.Addr][]string, error) {
	var states v1beta1.NodeStateList
	if err := e.c.List(context.Background(), &states); err != nil {
		return nil, err
	}
	out := map[netip.Addr][]string{}
	for _, s := range states.Items {
		for _, a := range s.Status.L2Announcements {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				return nil, fmt.Errorf("NodeState %s: L2 announcement of %q: %w", s.Name, a.IP, err)
			}
			out[ip] = append(out[ip], s.Name+"/"+a.Interface)
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out, nil
}

// anyNode, is and not are waitOwner's conditions on the owner.
func anyNode(string) bool { return true }

func is(want string) func(string) bool { return func(n string) bool { return n == want } }

func not(old string) func(string) bool { return func(n string) bool { return n != old } }

// waitOwner waits until the NodeStates say exactly one node answers for ip,
// on the LAN link, that node meets ok, and the Service's Announced
// condition names that node alone; it returns the node.
func (e *env) waitOwner(t *testing.T, svc *corev1.Service, ip netip.Addr, ok func(string) bool) string {
	t.Helper()
	var node string
	labtest.Eventually(t, wait, fmt.Sprintf("exactly one NodeState and the Announced condition of %s should name the node answering for %s", svc.Name, ip), func() string {
		owners, err := e.l2Owners()
		if err != nil {
			return err.Error()
		}
		o := owners[ip]
		if len(o) != 1 || !strings.HasSuffix(o[0], "/"+LANLink) {
			return fmt.Sprintf("NodeStates list %v", o)
		}
		node = strings.TrimSuffix(o[0], "/"+LANLink)
		if !ok(node) {
			return "NodeStates name " + node + ", not the node expected"
		}
		return e.announcedBy(svc, ip, node)
	})
	return node
}

// announcedBy returns "" when the Service's heraldlb.io/Announced
// condition is True and names node, and only node, as answering for ip.
func (e *env) announcedBy(svc *corev1.Service, ip netip.Addr, node string) string {
	var cur corev1.Service
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(svc), &cur); err != nil {
		return err.Error()
	}
	c := meta.FindStatusCondition(cur.Status.Conditions, controllers.ConditionAnnounced)
	if c == nil {
		return "the Service has no " + controllers.ConditionAnnounced + " condition"
	}
	want := fmt.Sprintf("%s: L2 from %s on %s", ip, node, LANLink)
	if c.Status != metav1.ConditionTrue || c.Message != want {
		return fmt.Sprintf("condition is %s/%s %q, want True %q", c.Status, c.Reason, c.Message, want)
	}
	return ""
}

var arpingMAC = regexp.MustCompile(`bytes from ([0-9a-f:]{17}) \(`)
var ndiscMAC = regexp.MustCompile(`Target link-layer address: ([0-9A-Fa-f:]{17})`)

// arping sends ARP requests for ip from the client and returns the distinct
// nodes answering.
func (e *env) arping(t *testing.T, ip netip.Addr) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := e.lab.Exec(ctx, lab.ClientName, "arping", "-c", "3", "-W", "0.2", "-w", "2", "-i", LANLink, ip.String())
	return e.nodesOf(t, arpingMAC.FindAllStringSubmatch(out, -1))
}

// ndisc sends Neighbor Solicitations for ip from the client and returns
// the distinct nodes answering.
func (e *env) ndisc(t *testing.T, ip netip.Addr) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := e.lab.Exec(ctx, lab.ClientName, "ndisc6", "-m", "-n", "-r", "3", "-w", "1000", ip.String(), LANLink)
	return e.nodesOf(t, ndiscMAC.FindAllStringSubmatch(out, -1))
}

func (e *env) nodesOf(t *testing.T, matches [][]string) []string {
	t.Helper()
	var nodes []string
	for _, m := range matches {
		n, ok := e.macs[strings.ToLower(m[1])]
		if !ok {
			n = "unknown MAC " + m[1]
		}
		if !slices.Contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	return nodes
}

// waitAnswers waits until the client's probes for ip are answered by
// exactly node (nothing when node is "").
func (e *env) waitAnswers(t *testing.T, ip netip.Addr, node string) {
	t.Helper()
	var want []string
	if node != "" {
		want = []string{node}
	}
	labtest.Eventually(t, wait, fmt.Sprintf("probes from the client for %s should be answered by %v", ip, want), func() string {
		var got []string
		if ip.Is4() {
			got = e.arping(t, ip)
		} else {
			got = e.ndisc(t, ip)
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("answered by %v", got)
		}
		return ""
	})
}

// capture starts a capture on the client's LAN interface; the returned
// function stops it and checks that no IP was answered by two nodes at
// once: for each IP, at most maxRuns runs of one MAC (one per owner in
// turn). It returns the answers.
func (e *env) capture(t *testing.T) func(maxRuns map[netip.Addr]int) []Answer {
	t.Helper()
	c, err := StartCapture(context.Background(), e.lab, lab.ClientName, LANLink, t.TempDir()+"/client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_, _ = c.Stop()
		}
	})
	return func(maxRuns map[netip.Addr]int) []Answer {
		t.Helper()
		stopped = true
		answers, err := c.Stop()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[netip.Addr]bool{}
		for _, a := range answers {
			seen[a.IP] = true
			if _, ok := e.macs[a.MAC]; !ok && (lab.VIPPrefix4.Contains(a.IP) || lab.VIPPrefix6.Contains(a.IP)) {
				t.Errorf("%s for %s from %s, not a node's LAN MAC", a.Kind, a.IP, a.MAC)
			}
		}
		for ip := range seen {
			if !lab.VIPPrefix4.Contains(ip) && !lab.VIPPrefix6.Contains(ip) {
				continue
			}
			runs := Runs(answers, ip)
			limit, ok := maxRuns[ip]
			if !ok {
				limit = 1
			}
			if len(runs) > limit {
				var desc []string
				for _, r := range runs {
					desc = append(desc, fmt.Sprintf("%s (%s) x%d %s..%s", e.macs[r.MAC], r.MAC, r.Count,
						r.First.Format("15:04:05.000"), r.Last.Format("15:04:05.000")))
				}
				t.Errorf("%s was answered by alternating nodes (%d runs, at most %d expected): %s", ip, len(runs), limit, strings.Join(desc, "; "))
			}
		}
		return answers
	}
}

// warmUp waits until the speakers of a lab just brought up agree that all
// three are live: six Services, each listed in the NodeStates by its
// rendezvous owner among every node. Until then a Service may move once, to
// a node that became ready later, and a case's capture would see it move.
func (e *env) warmUp(t *testing.T) {
	t.Helper()
	e.reset(t)
	e.base(t)
	var all []string
	for _, n := range e.lab.Plan().Nodes {
		all = append(all, n.Name)
	}
	var ips []netip.Addr
	for i := range 6 {
		_, ip := e.service(t, fmt.Sprintf("l2-warmup-%d", i), pool4, corev1.IPv4Protocol, corev1.ServiceExternalTrafficPolicyCluster)
		ips = append(ips, ip)
	}
	labtest.Eventually(t, wait, "each warm-up IP to be answered by its owner among all of "+strings.Join(all, ", "), func() string {
		owners, err := e.l2Owners()
		if err != nil {
			return err.Error()
		}
		for _, ip := range ips {
			want := []string{owner.Owner(ip, all) + "/" + LANLink}
			if !slices.Equal(owners[ip], want) {
				return fmt.Sprintf("%s: NodeStates list %v, want %v", ip, owners[ip], want)
			}
		}
		return ""
	})
	e.reset(t)
}
