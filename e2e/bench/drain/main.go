// Command drain measures, on the lab (e2e/lab), what a client sees while a
// node drains, and prints a table:
//
//   - BGP drain: a Service announced by the three nodes to the FRR router;
//     the client pings its IP every -interval (10 ms, ICMP echo sent from
//     this process in the client's namespace, lab.StartPing); a node is
//     cordoned (node1, node2, node3 in turn) and the trial lasts until its
//     NodeState says Drained (graceful shutdown, the 5 s wait, the
//     withdrawal) and the router's route has left it, plus one second.
//     The figure is the echo requests unanswered; the target is 0;
//   - BGP uncordon: the node uncordoned, until the router's route has the
//     three nodes again and NodeState no drain, plus one second;
//   - L2 drain: a Layer 2 Service; the client sends an ARP request for its
//     IP every -interval (e2e/l2's Prober); its owner is cordoned, until
//     another node owns it and the owner's NodeState says Drained, plus one
//     second. The figure is the requests no node answered (l2.Unanswered);
//     the target is 0;
//   - L2 uncordon: the owner uncordoned, until it owns the IP again, plus
//     one second.
//
// Requests of the last 200 ms of a trial, whose answers may be in flight,
// are not counted. It brings the lab up (keeping one that is up), replaces
// every herald object in herald's namespace and every LoadBalancer Service
// of "default" with its own, and takes the lab down at the end unless
// -keep. Run as root from the module root after `make build`:
//
//	go run ./e2e/bench/drain -trials 3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/bench/benchlab"
	"github.com/heraldlb/herald/e2e/l2"
	"github.com/heraldlb/herald/e2e/lab"
)

const (
	ns    = lab.HeraldNamespace
	svcNS = "default"
	// poolAnnotation pins a Service to a pool.
	poolAnnotation = "heraldlb.io/address-pool"
	bgpPool        = "drain-bgp"
	l2Pool         = "drain-l2"
	myASN          = 64512
	// settle bounds every wait for the lab to follow a change.
	settle = 90 * time.Second
	// inFlight is the end of a trial whose requests are not counted.
	inFlight = 200 * time.Millisecond
)

func main() {
	trials := flag.Int("trials", 3, "trials of each row")
	interval := flag.Duration("interval", 10*time.Millisecond, "probe interval of the client")
	keep := flag.Bool("keep", false, "leave the lab up at the end")
	verbose := flag.Bool("v", false, "log the lab's progress")
	flag.Parse()
	if *trials < 1 {
		fmt.Fprintf(os.Stderr, "drain bench: -trials=%d: use at least 1\n", *trials)
		os.Exit(2)
	}
	if *interval < 2*time.Millisecond {
		fmt.Fprintf(os.Stderr, "drain bench: -interval=%s: use at least 2ms (ping's minimum)\n", *interval)
		os.Exit(2)
	}
	if err := run(*trials, *interval, *keep, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "drain bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is the lab, a client of its API server and the nodes' MACs.
type bench struct {
	lab      *lab.Lab
	c        client.Client
	macs     map[string]string // LAN MAC -> node
	interval time.Duration
}

// trial is one drain or uncordon as the client saw it.
type trial struct {
	node       string
	sent, lost int
	took       time.Duration
}

func run(trials int, interval time.Duration, keep, verbose bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, c, done, err := benchlab.Up(ctx, benchlab.Options{Name: "drain bench", Keep: keep, Verbose: verbose,
		Require: []string{lab.Controller, lab.Speaker},
	})
	if done != nil {
		defer done()
	}
	if err != nil {
		return err
	}
	macs, err := l2.NodeMACs(ctx, l)
	if err != nil {
		return err
	}
	b := &bench{lab: l, c: c, macs: macs, interval: interval}
	defer func() {
		for _, n := range l.Plan().Nodes {
			_ = l.Cordon(context.WithoutCancel(ctx), n.Name, false)
		}
	}()
	if err := b.setup(ctx); err != nil {
		return err
	}
	bgpIP, err := b.service(ctx, "drain-bgp", bgpPool)
	if err != nil {
		return err
	}
	l2IP, err := b.service(ctx, "drain-l2", l2Pool)
	if err != nil {
		return err
	}

	type row struct {
		name   string
		trials []trial
	}
	rows := []row{{name: "BGP drain (cordon)"}, {name: "BGP uncordon"}, {name: "L2 drain (cordon)"}, {name: "L2 uncordon"}}
	nodes := l.Plan().Nodes
	for i := range trials {
		node := nodes[i%len(nodes)].Name
		d, u, err := b.bgpTrial(ctx, bgpIP, node)
		if err != nil {
			return fmt.Errorf("BGP trial %d (%s): %w", i+1, node, err)
		}
		fmt.Fprintf(os.Stderr, "BGP trial %d: %s drained: %d of %d pings lost over %s; uncordoned: %d of %d lost\n",
			i+1, node, d.lost, d.sent, d.took.Round(time.Millisecond), u.lost, u.sent)
		rows[0].trials, rows[1].trials = append(rows[0].trials, d), append(rows[1].trials, u)
	}
	for i := range trials {
		d, u, err := b.l2Trial(ctx, l2IP)
		if err != nil {
			return fmt.Errorf("L2 trial %d: %w", i+1, err)
		}
		fmt.Fprintf(os.Stderr, "L2 trial %d: %s drained: %d of %d ARP requests unanswered over %s; uncordoned: %d of %d\n",
			i+1, d.node, d.lost, d.sent, d.took.Round(time.Millisecond), u.lost, u.sent)
		rows[2].trials, rows[3].trials = append(rows[2].trials, d), append(rows[3].trials, u)
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "herald drain on the lab (3 nodes, client probes every %s, %d cores, load %s)\n", interval, runtime.NumCPU(), loadavg())
	fmt.Fprintf(w, "command: go run ./e2e/bench/drain %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintln(w, "measure\tn\tlost p50\tlost max\ttarget\tall (lost/sent node)")
	for _, r := range rows {
		var lost []int
		var all []string
		for _, t := range r.trials {
			lost = append(lost, t.lost)
			all = append(all, fmt.Sprintf("%d/%d %s", t.lost, t.sent, t.node))
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t0\t%s\n", r.name, len(lost), pct(lost, 50), slices.Max(lost), strings.Join(all, ", "))
	}
	return w.Flush()
}

// setup replaces herald's objects with a BGP pool advertised to the FRR
// router by every node and a Layer 2 pool on the nodes' LAN link.
func (b *bench) setup(ctx context.Context) error {
	if err := benchlab.Reset(ctx, b.c, ns, svcNS, settle); err != nil {
		return err
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	agg := int32(32)
	for _, obj := range []client.Object{
		&v1beta1.IPAddressPool{ObjectMeta: meta(bgpPool), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/27"}}},
		&v1beta1.IPAddressPool{ObjectMeta: meta(l2Pool), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.64/27"}}},
		&v1beta1.BGPPeer{ObjectMeta: meta("router"), Spec: v1beta1.BGPPeerSpec{
			MyASN: myASN, PeerASN: lab.RouterASN, PeerAddress: lab.RouterAddr4.String(),
			HoldTime: &metav1.Duration{Duration: 9 * time.Second}, KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
			ConnectTime: &metav1.Duration{Duration: 2 * time.Second},
		}},
		&v1beta1.BGPAdvertisement{ObjectMeta: meta(bgpPool), Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{bgpPool}, AggregationLength: &agg}},
		&v1beta1.L2Advertisement{ObjectMeta: meta(l2Pool), Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{l2Pool}, Interfaces: []v1beta1.InterfaceName{l2.LANLink}}},
	} {
		if err := b.c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

// service creates an IPv4 LoadBalancer Service from pool and returns its
// address.
func (b *bench) service(ctx context.Context, name, pool string) (netip.Addr, error) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{poolAnnotation: pool}},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Selector:   map[string]string{"app": name},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	if err := b.c.Create(ctx, svc); err != nil {
		return netip.Addr{}, fmt.Errorf("creating Service %s: %w", name, err)
	}
	var ip netip.Addr
	err := benchlab.Poll(ctx, settle, func() (bool, error) {
		if err := b.c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return false, err
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return false, nil
		}
		var err error
		ip, err = netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
		return err == nil, err
	})
	if err != nil {
		return ip, fmt.Errorf("Service %s got no address: %w", name, err)
	}
	return ip, nil
}

// drainPhase returns node's NodeState drain phase ("" when it does not
// drain).
func (b *bench) drainPhase(ctx context.Context, node string) (string, error) {
	var st v1beta1.NodeState
	if err := b.c.Get(ctx, client.ObjectKey{Name: node}, &st); err != nil {
		return "", err
	}
	if st.Status.Drain == nil {
		return "", nil
	}
	return string(st.Status.Drain.Phase), nil
}

// routerHops returns the next hops of the router's kernel route to ip.
func (b *bench) routerHops(ctx context.Context, ip netip.Addr) ([]string, error) {
	out, err := b.lab.Exec(ctx, lab.RouterName, "ip", "-o", "route", "show", ip.String())
	if err != nil {
		return nil, err
	}
	var hops []string
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "via" {
			hops = append(hops, f[i+1])
		}
	}
	slices.Sort(hops)
	return hops, nil
}

func (b *bench) nodeAddr(node string) string {
	for _, n := range b.lab.Plan().Nodes {
		if n.Name == node {
			return n.LAN4.String()
		}
	}
	return ""
}

// waitHops waits until the router's route to ip goes through the LAN
// addresses of nodes exactly.
func (b *bench) waitHops(ctx context.Context, ip netip.Addr, nodes ...string) error {
	var want []string
	for _, n := range nodes {
		want = append(want, b.nodeAddr(n))
	}
	slices.Sort(want)
	var got []string
	err := benchlab.Poll(ctx, settle, func() (bool, error) {
		var err error
		got, err = b.routerHops(ctx, ip)
		return err == nil && slices.Equal(got, want), nil
	})
	if err != nil {
		return fmt.Errorf("the router's route to %s goes through %v, want %v: %w", ip, got, want, err)
	}
	return nil
}

// bgpTrial cordons node while the client pings ip, then uncordons it.
func (b *bench) bgpTrial(ctx context.Context, ip netip.Addr, node string) (drain, uncordon trial, err error) {
	var all, others []string
	for _, n := range b.lab.Plan().Nodes {
		all = append(all, n.Name)
		if n.Name != node {
			others = append(others, n.Name)
		}
	}
	if err := b.waitHops(ctx, ip, all...); err != nil {
		return drain, uncordon, err
	}
	drain, err = b.pinging(ctx, ip, node, func(t0 time.Time) error {
		if err := b.lab.Cordon(ctx, node, true); err != nil {
			return err
		}
		if err := b.waitHops(ctx, ip, others...); err != nil {
			return err
		}
		return benchlab.Poll(ctx, settle, func() (bool, error) {
			p, err := b.drainPhase(ctx, node)
			return p == string(v1beta1.DrainPhaseDrained), err
		})
	})
	if err != nil {
		return drain, uncordon, err
	}
	uncordon, err = b.pinging(ctx, ip, node, func(time.Time) error {
		if err := b.lab.Cordon(ctx, node, false); err != nil {
			return err
		}
		if err := b.waitHops(ctx, ip, all...); err != nil {
			return err
		}
		return benchlab.Poll(ctx, settle, func() (bool, error) {
			p, err := b.drainPhase(ctx, node)
			return p == "", err
		})
	})
	return drain, uncordon, err
}

// pinging pings ip from the client every interval (lab.StartPing) for a
// second, runs step, pings one more second, and counts the echo requests
// sent before the last inFlight that got no reply.
func (b *bench) pinging(ctx context.Context, ip netip.Addr, node string, step func(time.Time) error) (trial, error) {
	p, err := b.lab.StartPing(ctx, lab.ClientName, ip, b.interval)
	if err != nil {
		return trial{}, err
	}
	time.Sleep(time.Second)
	t0 := time.Now()
	serr := step(t0)
	took := time.Since(t0)
	time.Sleep(time.Second)
	end := time.Now().Add(-inFlight)
	sent, answered := p.Stop()
	if serr != nil {
		return trial{}, serr
	}
	t := trial{node: node, took: took}
	for i, s := range sent {
		if s.Before(end) {
			t.sent++
			if !answered[i] {
				t.lost++
			}
		}
	}
	if t.lost == t.sent {
		return t, fmt.Errorf("no echo reply at all from %s: is it routed?", ip)
	}
	return t, nil
}

// l2Owner returns the one node whose NodeState lists ip ("" if not one).
func (b *bench) l2Owner(ctx context.Context, ip netip.Addr) (string, error) {
	var states v1beta1.NodeStateList
	if err := b.c.List(ctx, &states); err != nil {
		return "", err
	}
	var owners []string
	for _, s := range states.Items {
		for _, a := range s.Status.L2Announcements {
			if a.IP == ip.String() && !slices.Contains(owners, s.Name) {
				owners = append(owners, s.Name)
			}
		}
	}
	if len(owners) != 1 {
		return "", nil
	}
	return owners[0], nil
}

// l2Trial cordons the owner of ip while the client sends ARP requests for
// it, then uncordons it.
func (b *bench) l2Trial(ctx context.Context, ip netip.Addr) (drain, uncordon trial, err error) {
	var old string
	if err := benchlab.Poll(ctx, settle, func() (bool, error) {
		var err error
		old, err = b.l2Owner(ctx, ip)
		return old != "", err
	}); err != nil {
		return drain, uncordon, fmt.Errorf("waiting for one owner of %s: %w", ip, err)
	}
	drain, err = b.probing(ctx, ip, old, func() error {
		if err := b.lab.Cordon(ctx, old, true); err != nil {
			return err
		}
		return benchlab.Poll(ctx, settle, func() (bool, error) {
			o, err := b.l2Owner(ctx, ip)
			if err != nil || o == "" || o == old {
				return false, err
			}
			p, err := b.drainPhase(ctx, old)
			return p == string(v1beta1.DrainPhaseDrained), err
		})
	})
	if err != nil {
		return drain, uncordon, err
	}
	uncordon, err = b.probing(ctx, ip, old, func() error {
		if err := b.lab.Cordon(ctx, old, false); err != nil {
			return err
		}
		return benchlab.Poll(ctx, settle, func() (bool, error) {
			o, err := b.l2Owner(ctx, ip)
			return o == old, err
		})
	})
	return drain, uncordon, err
}

// probing sends ARP requests for ip from the client every interval for a
// second, runs step, one more second, and counts the requests sent before
// the last inFlight that no node answered.
func (b *bench) probing(ctx context.Context, ip netip.Addr, node string, step func() error) (trial, error) {
	p, err := l2.StartProber(ctx, b.lab, ip, b.interval)
	if err != nil {
		return trial{}, err
	}
	var replies []l2.Reply
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for r := range p.Replies() {
			replies = append(replies, r)
		}
	}()
	time.Sleep(time.Second)
	t0 := time.Now()
	serr := step()
	took := time.Since(t0)
	time.Sleep(time.Second)
	end := time.Now().Add(-inFlight)
	sent := p.Sent()
	p.Stop()
	<-collected
	if serr != nil {
		return trial{}, serr
	}
	if len(replies) == 0 {
		return trial{}, errors.New("no ARP reply at all: is the IP answered?")
	}
	t := trial{node: node, took: took}
	for _, s := range sent {
		if s.Before(end) {
			t.sent++
		}
	}
	for _, s := range l2.Unanswered(sent, replies) {
		if s.Before(end) {
			t.lost++
		}
	}
	return t, nil
}

// pct returns the p-th percentile of v (nearest rank).
func pct(v []int, p int) int {
	s := slices.Clone(v)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}

// loadavg returns the 1-minute load average.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
