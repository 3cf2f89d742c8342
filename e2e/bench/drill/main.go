// Command drill measures `kubectl herald drill` on the lab (e2e/lab, its
// three nodes' speakers and FRR) and prints a table, to compare with the
// l2lab and bgp benches:
//
//   - L2: an L2 Service's owner is drilled -trials times
//     (kubectlplugin.RunDrill, the command's body, probing with TCP
//     connects every 10 ms from the client namespace); the client's ARP
//     prober (every 10 ms, e2e/l2) times the new owner's first reply from
//     the annotation's write, and the old owner's first reply from its
//     removal. Compare l2lab's "graceful move (SIGTERM)";
//   - BGP: node1 is drilled out of a BGP Service -trials times; `ip -o
//     monitor route` in the router times its route for the IP down to two
//     next hops from the annotation's write, and back to three from its
//     removal. Compare the bgp bench's "withdraw latency, FRR";
//   - the probes the drills lost, and whether each old node came back.
//
// With -show it first runs the real command (bin/kubectl-herald, built by
// `make build`) with the lab's kubeconfig and prints its output: a dry
// run, an L2 drill, a BGP drill, and a refused drill of a Local Service
// with one endpoint — the README's example. It brings the lab up (keeping
// one that is up) and holds it, replaces every herald object in herald's
// namespace and every LoadBalancer Service of "default" with its own, and
// takes the lab down at the end unless -keep. Run as root from the module
// root after `make build`:
//
//	go run ./e2e/bench/drill -trials 5 -show
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/bench/benchlab"
	"github.com/heraldlb/herald/e2e/l2"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/kubectlplugin"
)

const (
	ns    = lab.HeraldNamespace
	svcNS = "default"
	// settle bounds every wait for the lab to follow a change.
	settle = 90 * time.Second
	// Ports the lab pods serve (the lab has no kube-proxy: a pod serves
	// its port on the VIPs itself).
	webPort, apiPort, soloPort = 8080, 8081, 8082
	// l2Net is the L2 pool's network, on-link for the client.
	l2Net = "192.0.2.8/29"
)

func main() {
	trials := flag.Int("trials", 5, "drills of each mode")
	duration := flag.Duration("duration", 3*time.Second, "how long each drill holds the node out")
	show := flag.Bool("show", false, "first run bin/kubectl-herald drill (dry run, L2, BGP, refused) and print its output")
	keep := flag.Bool("keep", false, "leave the lab up at the end")
	verbose := flag.Bool("v", false, "log the lab's progress")
	flag.Parse()
	if *trials < 1 {
		fmt.Fprintf(os.Stderr, "drill bench: -trials=%d: use at least 1\n", *trials)
		os.Exit(2)
	}
	if err := run(*trials, *duration, *show, *keep, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "drill bench: %v\n", err)
		os.Exit(1)
	}
}

type bench struct {
	lab  *lab.Lab
	c    client.Client
	macs map[string]string // LAN MAC -> node
}

func run(trials int, duration time.Duration, show, keep, verbose bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, c, done, err := benchlab.Up(ctx, benchlab.Options{Name: "drill bench", Keep: keep, Verbose: verbose})
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
	b := &bench{lab: l, c: c, macs: macs}
	ips, err := b.setup(ctx)
	if err != nil {
		return err
	}
	defer func() {
		_, _ = l.Exec(context.Background(), lab.ClientName, "ip", "route", "del", l2Net)
	}()
	if show {
		if err := b.show(ctx, os.Stdout); err != nil {
			return err
		}
	}
	l2Rows, err := b.l2Trials(ctx, ips["web"], trials, duration)
	if err != nil {
		return fmt.Errorf("L2 drills: %w", err)
	}
	bgpRows, err := b.bgpTrials(ctx, ips["api"], trials, duration)
	if err != nil {
		return fmt.Errorf("BGP drills: %w", err)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "kubectl herald drill on the lab (3 nodes, TCP probes every 10ms from the client, %s per drill, %d cores)\n", duration, runtime.NumCPU())
	fmt.Fprintln(w, "measure\tn\tp50\tmax\tall")
	for _, r := range append(l2Rows, bgpRows...) {
		if r.d == nil {
			fmt.Fprintf(w, "%s\t\t\t\t%s\n", r.name, r.note)
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", r.name, len(r.d), benchlab.MS(benchlab.Pct(r.d, 50)), benchlab.MS(slices.Max(r.d)), benchlab.List(r.d))
	}
	fmt.Fprintln(w, "command: go run ./e2e/bench/drill -trials", trials, "-duration", duration)
	return w.Flush()
}

type row struct {
	name string
	d    []time.Duration
	note string
}

// setup replaces herald's objects and the Services with the bench's: an L2
// pool and advertisement, a BGP pool, peer and advertisement, Services web
// (L2), api (BGP) and solo (L2, Local, one endpoint), pods serving them on
// every node (solo on node2 only), and the client's on-link route to the L2
// pool. It returns the Services' IPs by name once every node's NodeState
// shows them.
func (b *bench) setup(ctx context.Context) (map[string]netip.Addr, error) {
	for _, obj := range []client.Object{&v1beta1.BGPPeer{}, &v1beta1.BGPAdvertisement{}, &v1beta1.L2Advertisement{},
		&v1beta1.Community{}, &v1beta1.BFDProfile{}, &v1beta1.IPAddressPool{}} {
		if err := b.c.DeleteAllOf(ctx, obj, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("clearing %T: %w", obj, err)
		}
	}
	var svcs corev1.ServiceList
	if err := b.c.List(ctx, &svcs, client.InNamespace(svcNS)); err != nil {
		return nil, err
	}
	for i := range svcs.Items {
		if svcs.Items[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
			if err := b.c.Delete(ctx, &svcs.Items[i]); err != nil && !apierrors.IsNotFound(err) {
				return nil, err
			}
		}
	}
	om := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	agg := int32(32)
	objs := []client.Object{
		&v1beta1.IPAddressPool{ObjectMeta: om("l2"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.10-192.0.2.14"}}},
		&v1beta1.IPAddressPool{ObjectMeta: om("bgp"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.40-192.0.2.44"}}},
		&v1beta1.L2Advertisement{ObjectMeta: om("lan"), Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"l2"}, Interfaces: []v1beta1.InterfaceName{l2.LANLink}}},
		&v1beta1.BGPPeer{ObjectMeta: om("router"), Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: lab.RouterASN, PeerAddress: lab.RouterAddr4.String()}},
		&v1beta1.BGPAdvertisement{ObjectMeta: om("ecmp"), Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"bgp"}, AggregationLength: &agg}},
	}
	svc := func(name, pool string, port int32, policy corev1.ServiceExternalTrafficPolicy) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{"heraldlb.io/address-pool": pool}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
				ExternalTrafficPolicy: policy, Selector: map[string]string{"app": name},
				Ports: []corev1.ServicePort{{Name: "http", Port: port, Protocol: corev1.ProtocolTCP}}},
		}
	}
	objs = append(objs, svc("web", "l2", webPort, corev1.ServiceExternalTrafficPolicyCluster),
		svc("api", "bgp", apiPort, corev1.ServiceExternalTrafficPolicyCluster),
		svc("solo", "l2", soloPort, corev1.ServiceExternalTrafficPolicyLocal))
	for _, o := range objs {
		if err := b.c.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	for _, n := range b.lab.Plan().Nodes {
		for _, p := range []struct {
			svc  string
			port int32
		}{{"web", webPort}, {"api", apiPort}} {
			if _, err := b.lab.StartPod(ctx, lab.PodSpec{Name: p.svc + "-" + n.Name, Node: n.Name, Service: svcNS + "/" + p.svc, Port: p.port}); err != nil {
				return nil, err
			}
		}
	}
	if _, err := b.lab.StartPod(ctx, lab.PodSpec{Name: "solo-node2", Node: "node2", Service: svcNS + "/solo", Port: soloPort}); err != nil {
		return nil, err
	}
	if _, err := b.lab.Exec(ctx, lab.ClientName, "ip", "route", "replace", l2Net, "dev", l2.LANLink); err != nil {
		return nil, fmt.Errorf("the client's on-link route to the L2 pool: %w", err)
	}
	ips := map[string]netip.Addr{}
	deadline := time.Now().Add(settle)
	for {
		ready := true
		for _, name := range []string{"web", "api", "solo"} {
			opts := kubectlplugin.DrillOptions{Load: kubectlplugin.LoadOptions{Namespace: ns, Service: svcNS + "/" + name}, Duration: time.Second, Settle: time.Second, DryRun: true}
			if name == "solo" {
				var s corev1.Service
				if err := b.c.Get(ctx, client.ObjectKey{Namespace: svcNS, Name: name}, &s); err != nil || len(s.Status.LoadBalancer.Ingress) == 0 {
					ready = false
				}
				continue
			}
			r, err := dryRun(ctx, b.c, opts)
			if err != nil {
				ready = false
				continue
			}
			ips[name] = r.IP
			if name == "api" && len(r.Announcing) < 3 {
				ready = false
			}
		}
		if ready {
			return ips, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the Services are not announced by every node within %s", settle)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dryRun plans a drill, printing nothing.
func dryRun(ctx context.Context, c client.Client, o kubectlplugin.DrillOptions) (*kubectlplugin.DrillPlan, error) {
	lo := o.Load
	lo.Service = ""
	snap, err := kubectlplugin.Load(ctx, c, lo)
	if err != nil {
		return nil, err
	}
	return kubectlplugin.PlanDrill(snap, o.Load.Service, "", netip.Addr{}, "", time.Now())
}

// show runs the real command and prints what it prints.
func (b *bench) show(ctx context.Context, w io.Writer) error {
	bin, err := filepath.Abs("bin/kubectl-herald")
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("-show runs %s: run make build first: %w", bin, err)
	}
	client4, err := b.lab.Plan().Netns(lab.ClientName)
	if err != nil {
		return err
	}
	for _, args := range [][]string{
		{"drill", "svc/web", "--from-netns", client4, "--dry-run"},
		{"drill", "svc/web", "--from-netns", client4},
		{"drill", "svc/api", "--from-netns", client4},
		{"drill", "svc/solo"},
	} {
		fmt.Fprintf(w, "$ kubectl herald %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+b.lab.Kubeconfig())
		cmd.Stdout, cmd.Stderr = w, w
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			fmt.Fprintf(w, "$ echo $?\n%d\n", ee.ExitCode())
		case err != nil:
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}

// drill runs one drill of svc, probing from the client, and returns its
// report.
func (b *bench) drill(ctx context.Context, svc string, duration time.Duration) (*kubectlplugin.DrillReport, error) {
	client4, err := b.lab.Plan().Netns(lab.ClientName)
	if err != nil {
		return nil, err
	}
	return kubectlplugin.RunDrill(ctx, b.c, kubectlplugin.DrillOptions{
		Load:     kubectlplugin.LoadOptions{Namespace: ns, Service: svcNS + "/" + svc},
		Probe:    kubectlplugin.ProbeTarget{Every: 10 * time.Millisecond, Timeout: 200 * time.Millisecond, Netns: filepath.Join("/var/run/netns", client4)},
		From:     "the client",
		Duration: duration, Settle: settle,
	}, io.Discard)
}

// tally adds the probe and return rows of reports.
func tally(mode string, reps []*kubectlplugin.DrillReport) []row {
	var sent, lost, back int
	var outage time.Duration
	for _, r := range reps {
		sent += r.Drill.Sent + r.Return.Sent
		lost += r.Drill.Lost + r.Return.Lost
		outage = max(outage, r.Drill.Outage, r.Return.Outage)
		if r.CameBack() {
			back++
		}
	}
	return []row{
		{name: mode + ": probes lost (both phases)", note: fmt.Sprintf("%d of %d, longest outage %s", lost, sent, benchlab.MS(outage))},
		{name: mode + ": old node came back cleanly", note: fmt.Sprintf("%d of %d drills", back, len(reps))},
	}
}

func (b *bench) l2Trials(ctx context.Context, ip netip.Addr, trials int, duration time.Duration) ([]row, error) {
	prober, err := l2.StartProber(ctx, b.lab, ip, 10*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer prober.Stop()
	mac := map[string]string{}
	for m, n := range b.macs {
		mac[n] = m
	}
	var takeover, comeback []time.Duration
	var reps []*kubectlplugin.DrillReport
	for i := range trials {
		prober.Drain()
		r, err := b.drill(ctx, "web", duration)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		if len(r.TakenOverBy) != 1 {
			return nil, fmt.Errorf("trial %d: taken over by %v, want one node", i+1, r.TakenOverBy)
		}
		r1, err := prober.WaitFor(mac[r.TakenOverBy[0]], r.Start, settle)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		r2, err := prober.WaitFor(mac[r.Plan.Node], r.Released, settle)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		takeover = append(takeover, r1.At.Sub(r.Start))
		comeback = append(comeback, r2.At.Sub(r.Released))
		reps = append(reps, r)
		fmt.Fprintf(os.Stderr, "L2 trial %d: %s → %s in %s, back in %s, %d probes lost\n", i+1, r.Plan.Node, r.TakenOverBy[0],
			benchlab.MS(takeover[i]), benchlab.MS(comeback[i]), r.Drill.Lost+r.Return.Lost)
	}
	return append([]row{
		{name: "L2: annotation → new owner's first ARP reply", d: takeover},
		{name: "L2: removal → old owner's first ARP reply", d: comeback},
	}, tally("L2", reps)...), nil
}

// routeWatch follows the router's route to one IP with `ip -o monitor
// route`, recording when its next hops change and how many it has.
type routeWatch struct {
	mu     sync.Mutex
	ip     string
	events []routeEvent
}

type routeEvent struct {
	at   time.Time
	hops int
}

func (w *routeWatch) line(at time.Time, l string) {
	f := strings.Fields(l)
	deleted := len(f) > 0 && f[0] == "Deleted"
	if deleted {
		f = f[1:]
	}
	if len(f) == 0 || (f[0] != w.ip && f[0] != w.ip+"/32") {
		return
	}
	hops := strings.Count(l, " via ")
	if deleted {
		hops = 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, routeEvent{at: at, hops: hops})
}

// first returns the first time at or after since when the route had hops
// next hops.
func (w *routeWatch) first(since time.Time, hops int) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if !e.at.Before(since) && e.hops == hops {
			return e.at, true
		}
	}
	return time.Time{}, false
}

func (b *bench) bgpTrials(ctx context.Context, ip netip.Addr, trials int, duration time.Duration) ([]row, error) {
	router, err := b.lab.Plan().Netns(lab.RouterName)
	if err != nil {
		return nil, err
	}
	w := &routeWatch{ip: ip.String()}
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := exec.CommandContext(mctx, "ip", "-o", "-n", router, "monitor", "route")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ip monitor route in %s: %w", router, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<16)
		var pending string
		for {
			n, err := out.Read(buf)
			at := time.Now()
			pending += string(buf[:n])
			for {
				i := strings.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				w.line(at, pending[:i])
				pending = pending[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		stop()
		_ = cmd.Wait()
		<-done
	}()
	var withdraw, back []time.Duration
	var reps []*kubectlplugin.DrillReport
	for i := range trials {
		r, err := b.drill(ctx, "api", duration)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		t1, ok1 := w.first(r.Start, 2)
		t2, ok2 := w.first(r.Released, 3)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("trial %d: the router's route to %s did not go to 2 next hops and back to 3 (%v, %v)", i+1, ip, ok1, ok2)
		}
		withdraw = append(withdraw, t1.Sub(r.Start))
		back = append(back, t2.Sub(r.Released))
		reps = append(reps, r)
		fmt.Fprintf(os.Stderr, "BGP trial %d: %s withdrawn at the router in %s, back in %s, %d probes lost\n", i+1, r.Plan.Node,
			benchlab.MS(withdraw[i]), benchlab.MS(back[i]), r.Drill.Lost+r.Return.Lost)
		// The route back to three next hops before the next drill.
		time.Sleep(time.Second)
	}
	return append([]row{
		{name: "BGP: annotation → router route without the node", d: withdraw},
		{name: "BGP: removal → router route with it again", d: back},
	}, tally("BGP", reps)...), nil
}
