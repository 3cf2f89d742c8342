// Command bgp measures herald's BGP mode on the lab (e2e/lab) and prints a
// table:
//
//   - announce latency: a Service created → its /32 in the router's RIB
//     (the kernel FIB zebra programs, watched with `ip monitor route` in the
//     router's namespace, so every time is an event's, not a poll's), over
//     -services Services created one after the other. A Service is created
//     when the API server answers its Create call: from then on it is
//     stored and herald can see it. The call itself (the API server's
//     cluster IP and node port allocation and its storage, 15-20 ms on the
//     lab) has a row of its own, as has the controller's share;
//   - withdraw latency: the same Services deleted (the Delete call
//     answered) → their routes gone;
//   - BFD failover: with a BFDProfile of 50 ms × 3, one node's LAN link cut
//     at the switch → the router's kernel route no longer through that node
//     (the same `ip monitor route` event, not a poll: a loop spawning `ip`
//     would compete for the CPU with the router's FRR it times), over
//     -trials trials. Timed from the switch port going down, as `ip monitor
//     link` in the LAN namespace reports it (both ends are events read the
//     same way; the `ip link set down` command's own start-up is not
//     failover time). What it measures is BFD
//     (3 × 50 ms after the last packet heard) plus the router's FRR: bgpd
//     clears the peer's routes (10 ms work-queue hold) and runs best path
//     (50 ms hold, fixed in FRR's source), zebra programs the kernel (10 ms
//     hold by default);
//   - the speakers' peak RSS (VmHWM of /proc/PID/status) with -scale
//     IPv6 Services announced.
//
// It brings the lab up (keeping one that is up), replaces every herald object
// in herald's namespace and every LoadBalancer Service of "default" with its
// own, and takes the lab down at the end unless -keep. Run as root from the
// module root after `make build`:
//
//	go run ./e2e/bench/bgp
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
)

const (
	ns       = lab.HeraldNamespace
	svcNS    = "default"
	poolAnno = "heraldlb.io/address-pool"
	myASN    = 64512
)

func main() {
	services := flag.Int("services", 100, "Services created and deleted one by one for the latency rows")
	trials := flag.Int("trials", 10, "BFD failover trials")
	scale := flag.Int("scale", 1000, "IPv6 Services announced for the peak RSS row (0: skip)")
	keep := flag.Bool("keep", false, "leave the lab up at the end")
	verbose := flag.Bool("v", false, "log the lab's progress")
	trace := flag.Bool("trace", false, "print each Service's announce times")
	flag.Parse()
	if err := run(*services, *trials, *scale, *keep, *verbose, *trace); err != nil {
		fmt.Fprintf(os.Stderr, "bgp bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is the lab, a client of its API server, the Service watch, the
// router's FIB watch and the switch's link watch.
type bench struct {
	lab   *lab.Lab
	c     client.Client
	svcs  *svcWatch
	fib   *fibWatch
	links *linkWatch
	// trace prints each Service's times as they come.
	trace bool
}

func run(services, trials, scale int, keep, verbose, trace bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := lab.Options{}
	if verbose {
		opts.Log = funcr.New(func(_, args string) { fmt.Fprintln(os.Stderr, "lab:", args) }, funcr.Options{})
	}
	upCtx, upCancel := context.WithTimeout(ctx, 20*time.Minute)
	l, err := lab.Up(upCtx, opts)
	upCancel()
	if err != nil {
		return err
	}
	defer func() {
		if keep {
			l.Close()
			return
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer dcancel()
		if err := l.Down(dctx); err != nil {
			fmt.Fprintf(os.Stderr, "bgp bench: lab down: %v\n", err)
		}
	}()
	for _, c := range l.Components() {
		if !c.Built {
			return fmt.Errorf("herald %s is not running in the lab: %s", c.Name, c.Missing)
		}
	}
	ctrllog.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return err
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		return err
	}
	c, err := client.NewWithWatch(l.RESTConfig(), client.Options{Scheme: s})
	if err != nil {
		return err
	}
	svcs, err := watchServices(ctx, c)
	if err != nil {
		return err
	}
	fib, err := watchFIB(ctx, l.Plan().Router)
	if err != nil {
		return err
	}
	links, err := watchLinks(ctx, l.Plan().LAN)
	if err != nil {
		return err
	}
	b := &bench{lab: l, c: c, svcs: svcs, fib: fib, links: links, trace: trace}
	if err := b.setup(ctx); err != nil {
		return err
	}

	var rows [][]string
	progress("announcing and withdrawing %d Services one by one", services)
	m, err := b.latency(ctx, services)
	if err != nil {
		return err
	}
	rows = append(rows,
		row(fmt.Sprintf("announce latency (%d Services)", len(m.announce)), m.announce, "p50 ≤ 150ms, p99 ≤ 400ms"),
		row("  of which: address in status", m.assigned, "(the controller's share)"),
		row("  before it: the Create call", m.create, "(the API server's own work)"),
		row(fmt.Sprintf("withdraw latency (%d Services)", len(m.withdraw)), m.withdraw, "p50 ≤ 150ms, p99 ≤ 400ms"),
		row("  before it: the Delete call", m.delete, "(the API server's own work)"))
	progress("%v", rows)
	progress("cutting node3's LAN link %d times", trials)
	fo, err := b.failover(ctx, trials)
	if err != nil {
		return err
	}
	rows = append(rows, row(fmt.Sprintf("BFD failover, 50ms×3 (%d trials)", len(fo)), fo, "p50 ≤ 250ms"))
	progress("%v", rows[len(rows)-1])
	if scale > 0 {
		progress("announcing %d IPv6 Services for the speakers' peak RSS", scale)
		rss, err := b.peakRSS(ctx, scale)
		if err != nil {
			return err
		}
		rows = append(rows, []string{fmt.Sprintf("speaker peak RSS (%d Services)", scale), rss[0], rss[1], "≤ 60 MB"})
	}
	fmt.Printf("\n%-36s | %-12s | %-24s | %s\n", "measure", "p50 / value", "p99 / max", "target")
	for _, r := range rows {
		fmt.Printf("%-36s | %-12s | %-24s | %s\n", r[0], r[1], r[2], r[3])
	}
	if keep {
		return b.cleanup(ctx)
	}
	return nil // Down removes everything at once.
}

// progress says on standard error what the bench does now.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bgp bench: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// row formats a latency sample: p50, then p99 and max.
func row(name string, d []time.Duration, target string) []string {
	if len(d) == 0 {
		return []string{name, "-", "-", target}
	}
	slices.Sort(d)
	// nearest rank: the smallest sample with at least p of them at or
	// below it (p99 of 100 samples is the 99th, not the largest)
	q := func(p float64) time.Duration {
		return d[max(0, min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1))]
	}
	return []string{name, q(0.5).Round(time.Millisecond).String(),
		fmt.Sprintf("%s (max %s)", q(0.99).Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond)), target}
}

func objMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }

func ptr[T any](v T) *T { return &v }

// setup replaces herald's objects with the bench's: a 50 ms × 3 BFD
// profile, one eBGP peer of every node to the router, an IPv4 and an IPv6
// pool and their advertisement; then waits for the three sessions.
func (b *bench) setup(ctx context.Context) error {
	if err := b.cleanup(ctx); err != nil {
		return err
	}
	objs := []client.Object{
		&v1beta1.BFDProfile{ObjectMeta: objMeta("bench"), Spec: v1beta1.BFDProfileSpec{
			ReceiveInterval: ptr(uint32(50)), TransmitInterval: ptr(uint32(50)), DetectMultiplier: ptr(uint32(3)),
		}},
		&v1beta1.BGPPeer{ObjectMeta: objMeta("router"), Spec: v1beta1.BGPPeerSpec{
			MyASN: myASN, PeerASN: lab.RouterASN, PeerAddress: lab.RouterAddr4.String(),
			HoldTime:      &metav1.Duration{Duration: 9 * time.Second},
			KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
			ConnectTime:   &metav1.Duration{Duration: time.Second},
			BFDProfile:    "bench",
		}},
		&v1beta1.IPAddressPool{ObjectMeta: objMeta("bench"), Spec: v1beta1.IPAddressPoolSpec{
			Addresses: []v1beta1.AddressRange{"192.0.2.0/24"}}},
		&v1beta1.IPAddressPool{ObjectMeta: objMeta("bench6"), Spec: v1beta1.IPAddressPoolSpec{
			Addresses: []v1beta1.AddressRange{"2001:db8:200::/116"}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: objMeta("bench"), Spec: v1beta1.BGPAdvertisementSpec{
			IPAddressPools: []string{"bench", "bench6"}}},
	}
	for _, o := range objs {
		if err := b.c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return b.waitSessions(ctx, 3, 2*time.Minute)
}

// cleanup deletes every herald object in herald's namespace and every
// LoadBalancer Service of svcNS, and waits until the Services are gone.
func (b *bench) cleanup(ctx context.Context) error {
	var svcs corev1.ServiceList
	if err := b.c.List(ctx, &svcs, client.InNamespace(svcNS)); err != nil {
		return err
	}
	for i := range svcs.Items {
		if svcs.Items[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
			if err := b.c.Delete(ctx, &svcs.Items[i]); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	for _, o := range []client.Object{&v1beta1.BGPPeer{}, &v1beta1.BGPAdvertisement{}, &v1beta1.L2Advertisement{},
		&v1beta1.Community{}, &v1beta1.BFDProfile{}, &v1beta1.IPAddressPool{}} {
		if err := b.c.DeleteAllOf(ctx, o, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("deleting every %T: %w", o, err)
		}
	}
	return nil
}

// waitSessions waits until the router has n Established IPv4 sessions.
func (b *bench) waitSessions(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var sum struct {
			Peers map[string]struct {
				State string `json:"state"`
			} `json:"peers"`
		}
		out, err := b.lab.Vtysh(ctx, lab.RouterName, "show bgp ipv4 unicast summary json")
		if err == nil {
			err = json.Unmarshal([]byte(out), &sum)
		}
		up := 0
		for _, p := range sum.Peers {
			if p.State == "Established" {
				up++
			}
		}
		if err == nil && up >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the router has %d of %d Established sessions after %s (%v): %s", up, n, timeout, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func service(name, pool string, family corev1.IPFamily) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{poolAnno: pool}},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			IPFamilies: []corev1.IPFamily{family},
			Selector:   map[string]string{"app": name},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// samples are the latency rows' measurements, one per Service.
type samples struct {
	// announce: the Service created (its Create call returned: the API
	// server stored it, and herald can see it) → its route in the router's
	// FIB; assigned: created → its address in its status (the
	// controller's share); create: the Create call itself (the API
	// server's own work: cluster IP, node port, storage).
	announce, assigned, create []time.Duration
	// withdraw: the Service deleted (its Delete call returned) → its
	// route gone; delete: the Delete call itself.
	withdraw, delete []time.Duration
}

// latency creates n Services one by one, each announced before the next,
// then deletes them one by one.
func (b *bench) latency(ctx context.Context, n int) (samples, error) {
	var m samples
	var created []*corev1.Service
	var ips []string
	for i := range n {
		svc := service(fmt.Sprintf("bench-%03d", i), "bench", corev1.IPv4Protocol)
		start := time.Now()
		if err := b.c.Create(ctx, svc); err != nil {
			return m, err
		}
		done := time.Now()
		created = append(created, svc)
		ip, err := b.waitIP(ctx, svc)
		if err != nil {
			return m, err
		}
		assigned := time.Since(done)
		at, err := b.fib.waitAdded(ctx, ip, start, 30*time.Second)
		if err != nil {
			return m, err
		}
		m.create = append(m.create, done.Sub(start))
		m.assigned = append(m.assigned, assigned)
		m.announce = append(m.announce, at.Sub(done))
		if b.trace {
			progress("%s: create call %v, then address %v, route %v", svc.Name, done.Sub(start).Round(time.Millisecond),
				assigned.Round(time.Millisecond), at.Sub(done).Round(time.Millisecond))
		}
		ips = append(ips, ip)
	}
	// Let the last announcements reach every node's path before deleting.
	time.Sleep(2 * time.Second)
	for i, svc := range created {
		start := time.Now()
		if err := b.c.Delete(ctx, svc); err != nil {
			return m, err
		}
		done := time.Now()
		at, err := b.fib.waitDeleted(ctx, ips[i], start, 30*time.Second)
		if err != nil {
			return m, err
		}
		m.delete = append(m.delete, done.Sub(start))
		m.withdraw = append(m.withdraw, at.Sub(done))
	}
	return m, nil
}

// waitIP waits for svc's first ingress address, as the Service watch saw it
// arrive (a watch, not a poll: a GET every few milliseconds would load the
// API server the lab's controller and speakers share).
func (b *bench) waitIP(ctx context.Context, svc *corev1.Service) (string, error) {
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		ip, ch := b.svcs.address(svc.Name)
		if ip != "" {
			return ip, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return "", fmt.Errorf("service %s got no address in 30s", svc.Name)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// failover cuts node3's LAN link trials times with a Service announced by
// the three nodes and times the router dropping node3's next hop.
func (b *bench) failover(ctx context.Context, trials int) ([]time.Duration, error) {
	svc := service("bench-failover", "bench", corev1.IPv4Protocol)
	if err := b.c.Create(ctx, svc); err != nil {
		return nil, err
	}
	ip, err := b.waitIP(ctx, svc)
	if err != nil {
		return nil, err
	}
	node, _ := b.lab.Plan().Node("node3")
	victim := " via " + node.LAN4.String() + " "
	var out []time.Duration
	for range trials {
		// All three next hops, and BFD up with the bench profile's pace.
		if err := b.waitRoute(ctx, ip, 2*time.Minute, func(r string) bool { return strings.Count(r, " via ") == 3 }); err != nil {
			return out, err
		}
		if err := b.waitBFDUp(ctx, 3, time.Minute); err != nil {
			return out, err
		}
		time.Sleep(time.Second)
		start := time.Now()
		if err := b.lab.CutLink(ctx, "node3"); err != nil {
			return out, err
		}
		cut, err := b.links.waitDown(ctx, node.LANPort, start, 10*time.Second)
		if err != nil {
			return out, err
		}
		at, err := b.fib.waitRoute(ctx, ip, start, 30*time.Second, func(r string) bool {
			return strings.Contains(r, " via ") && !strings.Contains(r, victim)
		})
		if err == nil {
			// The event's route is the kernel's: check it once more.
			err = b.waitRoute(ctx, ip, time.Second, func(r string) bool { return !strings.Contains(r, victim) })
		}
		if rerr := b.lab.RestoreLink(ctx, "node3"); rerr != nil {
			return out, rerr
		}
		if err != nil {
			return out, err
		}
		out = append(out, at.Sub(cut))
	}
	return out, b.c.Delete(ctx, svc)
}

// waitRoute polls the router's kernel route to ip/32 every 10ms until ok
// holds for it. It times nothing.
func (b *bench) waitRoute(ctx context.Context, ip string, timeout time.Duration, ok func(string) bool) error {
	deadline := time.Now().Add(timeout)
	ns := b.lab.Plan().Router
	var last string
	for time.Now().Before(deadline) {
		o, err := exec.CommandContext(ctx, "ip", "-n", ns, "route", "show", ip+"/32").Output()
		if err != nil {
			return fmt.Errorf("ip -n %s route show %s: %w", ns, ip, err)
		}
		// One line per next hop; keep a space after each address.
		last = strings.ReplaceAll(string(o), "\n", " \n")
		if ok(last) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the router's route to %s did not change as expected in %s: %q", ip, timeout, last)
}

// waitBFDUp waits for n BFD sessions up at the router.
func (b *bench) waitBFDUp(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := b.lab.Vtysh(ctx, lab.RouterName, "show bfd peers brief")
		if err == nil && strings.Count(out, " up ") >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fewer than %d BFD sessions up after %s: %s", n, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// peakRSS creates n IPv6 Services, waits until the router holds a route
// to each, and returns the speakers' largest VmHWM and each one's.
func (b *bench) peakRSS(ctx context.Context, n int) ([2]string, error) {
	names := make(chan string)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				if err := b.c.Create(ctx, service(name, "bench6", corev1.IPv6Protocol)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range n {
		names <- fmt.Sprintf("bench6-%04d", i)
	}
	close(names)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return [2]string{}, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		got := b.fib.count6()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			return [2]string{}, fmt.Errorf("the router holds %d of %d IPv6 Service routes after 5m", got, n)
		}
		time.Sleep(time.Second)
	}
	// Let NodeStates and FRR state reads after the last apply run.
	time.Sleep(5 * time.Second)
	var peak int
	var each []string
	for name, p := range b.lab.Procs() {
		if !strings.HasPrefix(name, "speaker/") {
			continue
		}
		kb, err := vmHWM(p.PID)
		if err != nil {
			return [2]string{}, err
		}
		peak = max(peak, kb)
		each = append(each, fmt.Sprintf("%s %.1f", strings.TrimPrefix(name, "speaker/"), float64(kb)/1024))
	}
	slices.Sort(each)
	return [2]string{fmt.Sprintf("%.1f MiB (%.1f MB)", float64(peak)/1024, float64(peak)*1024/1e6), strings.Join(each, ", ") + " MiB"}, nil
}

// vmHWM returns the peak resident set of process pid in KiB.
func vmHWM(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the speaker's status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
