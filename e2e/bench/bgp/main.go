// Command bgp measures herald's BGP mode on the lab (e2e/lab) and prints a
// table:
//
//   - announce latency at each of the lab's three routers: a Service
//     created → its routes (/32, /128, both for a dual-stack one) present
//     at the FRR router (the kernel FIB zebra programs, watched with `ip
//     monitor route` in its namespace), at BIRD (the kernel FIB BIRD
//     programs with ECMP routes, watched the same way in its namespace) and
//     at GoBGP (no FIB: its RIB's best paths, watched with `gobgp monitor
//     global rib`), so every time is an event's, not a poll's; over
//     -services Services created one after the other, IPv4, IPv6 and
//     dual-stack in turn, the first of each family included. A Service is
//     created when the API server answers its Create call: from then on it
//     is stored and herald can see it. The call itself (the API server's
//     cluster IP and node port allocation and its storage, 15-20 ms on the
//     lab) has a row of its own, as has the controller's share;
//   - withdraw latency at each router: the same Services deleted (the
//     Delete call answered) → their routes absent;
//   - the session resets and BFD down transitions while they are created
//     and deleted, each from the component's own counters: GoBGP's flops,
//     BIRD's log, the nodes' FRR (connectionsDropped per neighbor,
//     session-down per BFD peer). The target is 0;
//   - BFD failover: for each BFD pace of -bfd (default 50 ms × 3; the
//     lab router's own profile allows down to 10 ms), one node's LAN link cut
//     at the switch → the router's kernel route no longer through that node
//     (the same `ip monitor route` event, not a poll: a loop spawning `ip`
//     would compete for the CPU with the router's FRR it times), over
//     -trials trials. Timed from the switch port going down, as `ip monitor
//     link` in the LAN namespace reports it (both ends are events read the
//     same way; the `ip link set down` command's own start-up is not
//     failover time). What it measures is BFD
//     (multiplier × interval after the last packet heard) plus the router's FRR: bgpd
//     clears the peer's routes (10 ms work-queue hold) and runs best path
//     (50 ms hold, fixed in FRR's source), zebra programs the kernel (10 ms
//     hold by default);
//   - with -soak D: D at the -soak-bfd pace (default 10 ms × 3) with one
//     spinning process per core, counting the BFD downs and session drops
//     the nodes see with the router (target 0);
//   - bgpd killed: node3's bgpd SIGKILLed (-bgpd-kills times, each a lone
//     crash) → the FRR router's kernel route through node3 back, from the
//     kill (the same `ip monitor route` events);
//   - the speakers' peak RSS (VmHWM of /proc/PID/status) with -scale
//     IPv6 Services announced.
//
// Every node peers with the three routers: the FRR router over IPv4 (both
// families; BFD 200 ms × 5 on herald's side, 50 ms × 3 for the failover
// trials), BIRD over IPv4 and IPv6 (BFD, 200 ms × 5 on herald's side) and
// GoBGP over IPv4 and IPv6 (TCP-MD5).
//
// It brings the lab up (keeping one that is up), replaces every herald object
// in herald's namespace and every LoadBalancer Service of "default" with its
// own, and takes the lab down at the end unless -keep. Run as root from the
// module root after `make build`:
//
//	go run ./e2e/bench/bgp
//	go run ./e2e/bench/bgp -services 50 -trials 0 -scale 0   # latency and resets only
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/bench/benchlab"
	"github.com/heraldlb/herald/e2e/lab"
)

const (
	ns       = lab.HeraldNamespace
	svcNS    = "default"
	poolAnno = "heraldlb.io/address-pool"
	myASN    = lab.NodeASN
	// birdBFD is the BFD profile of the nodes' sessions with BIRD: BIRD
	// asks for 100 ms × 3, herald's side 200 ms × 5, so that a loaded
	// 2-core machine does not flap.
	birdBFD = "bench-bird"
	// gobgpSecret holds the TCP-MD5 password of the sessions with GoBGP.
	gobgpSecret = "bench-gobgp"
)

// opts are the failover and soak settings.
var opts struct {
	paces    []bfdPace
	soak     time.Duration
	soakPace bfdPace
}

func main() {
	services := flag.Int("services", 100, "Services created and deleted one by one for the latency rows")
	trials := flag.Int("trials", 10, "BFD failover trials (0: skip)")
	kills := flag.Int("bgpd-kills", 5, "node3's bgpd SIGKILLed this many times, timing its routes back at the router (0: skip)")
	scale := flag.Int("scale", 1000, "IPv6 Services announced for the peak RSS row (0: skip)")
	keep := flag.Bool("keep", false, "leave the lab up at the end")
	verbose := flag.Bool("v", false, "log the lab's progress")
	trace := flag.Bool("trace", false, "print each Service's announce times")
	paces := flag.String("bfd", "50x3", "BFD paces (INTERVALxMULT, ms) of the failover trials, one row each, e.g. 50x3,20x3,10x3")
	soakFor := flag.Duration("soak", 0, "after the failover trials, run this long at the -soak-bfd pace with every core busy, counting BFD downs (0: skip)")
	soakPace := flag.String("soak-bfd", "10x3", "the BFD pace of the soak")
	flag.Parse()
	fo, err := parsePaces(*paces)
	if err == nil {
		var sp []bfdPace
		if sp, err = parsePaces(*soakPace); err == nil && len(sp) != 1 {
			err = fmt.Errorf("-soak-bfd %q: give one pace", *soakPace)
		}
		if err == nil {
			opts.soakPace = sp[0]
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bgp bench: %v\n", err)
		os.Exit(2)
	}
	opts.paces, opts.soak = fo, *soakFor
	if err := run(*services, *trials, *kills, *scale, *keep, *verbose, *trace); err != nil {
		fmt.Fprintf(os.Stderr, "bgp bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is the lab, a client of its API server, the Service watch, the
// routers' route watches and the switch's link watch.
type bench struct {
	lab  *lab.Lab
	c    client.Client
	svcs *svcWatch
	// routers are the FRR router's, BIRD's and GoBGP's route watches; fib
	// is the first, the FRR router's kernel table (failover, RSS).
	routers []*routeWatch
	fib     *routeWatch
	links   *linkWatch
	// trace prints each Service's times as they come.
	trace bool
}

func run(services, trials, kills, scale int, keep, verbose, trace bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer stopChildren()
	l, c, done, err := benchlab.Up(ctx, benchlab.Options{Name: "bgp bench", Keep: keep, Verbose: verbose,
		Require: benchlab.Every,
	})
	if done != nil {
		defer done()
	}
	if err != nil {
		return err
	}
	svcs, err := watchServices(ctx, c)
	if err != nil {
		return err
	}
	fib, err := watchFIB(ctx, "FRR", l.Plan().Router, "bgp")
	if err != nil {
		return err
	}
	bird, err := watchFIB(ctx, "BIRD", l.Plan().Bird, "bird")
	if err != nil {
		return err
	}
	gobgp, err := watchGoBGP(ctx, l.Plan().GoBGP, lab.GoBGPAPI)
	if err != nil {
		return err
	}
	links, err := watchLinks(ctx, l.Plan().LAN)
	if err != nil {
		return err
	}
	b := &bench{lab: l, c: c, svcs: svcs, routers: []*routeWatch{fib, bird, gobgp}, fib: fib, links: links, trace: trace}
	if err := b.setup(ctx); err != nil {
		return err
	}

	var rows [][]string
	var notes []string
	if services > 0 {
		before, err := b.lab.Counts(ctx)
		if err != nil {
			return err
		}
		progress("announcing and withdrawing %d Services one by one", services)
		m, err := b.latency(ctx, services)
		if err != nil {
			return err
		}
		after, err := b.lab.Counts(ctx)
		if err != nil {
			return err
		}
		const target = "p50 ≤ 150ms, p99 ≤ 400ms"
		for r, w := range b.routers {
			rows = append(rows, row(fmt.Sprintf("announce latency, %s (%d Services)", w.name, len(m.announce[r])), m.announce[r], target))
		}
		rows = append(rows,
			row("  of which: addresses in status", m.assigned, "(the controller's share)"),
			row("  before it: the Create call", m.create, "(the API server's own work)"))
		for r, w := range b.routers {
			rows = append(rows, row(fmt.Sprintf("withdraw latency, %s (%d Services)", w.name, len(m.withdraw[r])), m.withdraw[r], target))
		}
		rows = append(rows, row("  before it: the Delete call", m.delete, "(the API server's own work)"))
		for r, w := range b.routers {
			if m.noMessage[r] > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d withdrawal(s) sent no message to the watch; its own table, read after 30s, had no route (not counted above)", w.name, m.noMessage[r]))
			}
		}
		ch := after.Since(before)
		rows = append(rows, countRows(ch)...)
		notes = append(notes, "Services: "+m.mix+", created one after another, then deleted one after another")
		for _, d := range ch.Detail {
			notes = append(notes, "during the run: "+d)
		}
		progress("%v", rows)
	}
	for _, p := range opts.paces {
		if trials == 0 {
			break
		}
		progress("cutting node3's LAN link %d times, BFD %s", trials, p)
		fo, err := b.failover(ctx, trials, p)
		if err != nil {
			return err
		}
		rows = append(rows, row(fmt.Sprintf("BFD failover, %s (%d trials)", p, len(fo)), fo, "p50 ≤ 50ms at 10ms×3"))
		progress("%v", rows[len(rows)-1])
	}
	if opts.soak > 0 {
		burners := runtime.NumCPU()
		progress("soak: %s at BFD %s with %d CPU burners", opts.soak, opts.soakPace, burners)
		downs, drops, err := b.soak(ctx, opts.soakPace, opts.soak, burners)
		if err != nil {
			return err
		}
		rows = append(rows, []string{fmt.Sprintf("soak %s, BFD %s, %d cores busy", opts.soak, opts.soakPace, burners),
			fmt.Sprintf("%d BFD downs", downs), fmt.Sprintf("%d session drops", drops), "0 BFD flaps in 10m"})
		progress("%v", rows[len(rows)-1])
	}
	if kills > 0 {
		progress("killing node3's bgpd %d times", kills)
		k, err := b.bgpdKills(ctx, kills)
		if err != nil {
			return err
		}
		rows = append(rows, row(fmt.Sprintf("bgpd SIGKILL → routes back (%d kills)", len(k)), k, "≤ 5s"))
		progress("%v", rows[len(rows)-1])
	}
	if scale > 0 {
		progress("announcing %d IPv6 Services for the speakers' peak RSS", scale)
		rss, err := b.peakRSS(ctx, scale)
		if err != nil {
			return err
		}
		rows = append(rows, []string{fmt.Sprintf("speaker peak RSS (%d Services)", scale), rss[0], rss[1], "≤ 60 MB"})
	}
	fmt.Printf("\n%-40s | %-12s | %-32s | %s\n", "measure", "p50 / value", "p99 / max", "target")
	for _, r := range rows {
		fmt.Printf("%-40s | %-12s | %-32s | %s\n", r[0], r[1], r[2], r[3])
	}
	for _, n := range notes {
		fmt.Println(n)
	}
	fmt.Println("command: go run ./e2e/bench/bgp " + strings.Join(os.Args[1:], " "))
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

// setup replaces herald's objects with the bench's: a dual-stack pool and
// its advertisement; one eBGP peer of every node to the FRR router (BFD
// 200 ms × 5, 50 ms × 3 for the failover trials); two to BIRD (IPv4, IPv6;
// BFD 200 ms × 5) and two to GoBGP (TCP-MD5, the password from a
// basic-auth Secret). Then it waits for every session and BFD, and lets
// them settle.
func (b *bench) setup(ctx context.Context) error {
	if err := b.cleanup(ctx); err != nil {
		return err
	}
	// The pool and its advertisement come first, so that each peer has
	// its address families from the start (a peer created before them
	// gets IPv6 later, which resets its session); the peers with BFD
	// last, so that no newer config reaches a node's agent while it turns
	// their BFD on after their first session (before ef1fa2b the agent
	// could then apply the older config over the newer one).
	objs := []client.Object{
		// 200 ms × 5 while Services come and go: at 50 ms × 3, a
		// 2-core machine loaded by other work (load average 10-16)
		// made BFD with the router flap (12 downs in one run). The
		// failover trials switch it to 50 ms × 3.
		bfdProfile("bench", 200, 5),
		bfdProfile(birdBFD, 200, 5),
		&corev1.Secret{
			ObjectMeta: objMeta(gobgpSecret),
			Type:       corev1.SecretTypeBasicAuth,
			StringData: map[string]string{"password": lab.GoBGPPassword},
		},
		&v1beta1.IPAddressPool{ObjectMeta: objMeta("bench"), Spec: v1beta1.IPAddressPoolSpec{
			Addresses: []v1beta1.AddressRange{"192.0.2.0/24", "2001:db8:200::/116"}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: objMeta("bench"), Spec: v1beta1.BGPAdvertisementSpec{
			IPAddressPools: []string{"bench"}}},
		peer("gobgp-v4", lab.GoBGPAddr4.String(), lab.GoBGPASN, 2*time.Second, "", gobgpSecret),
		peer("gobgp-v6", lab.GoBGPAddr6.String(), lab.GoBGPASN, 2*time.Second, "", gobgpSecret),
		peer("bird-v4", lab.BirdAddr4.String(), lab.BirdASN, 2*time.Second, birdBFD, ""),
		peer("bird-v6", lab.BirdAddr6.String(), lab.BirdASN, 2*time.Second, birdBFD, ""),
		peer("router", lab.RouterAddr4.String(), lab.RouterASN, time.Second, "bench", ""),
	}
	for _, o := range objs {
		if err := b.c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	progress("waiting for every node's sessions with the FRR router, BIRD and GoBGP")
	// BIRD waits 60 s after a session error (a peer de-configured by an
	// earlier run), longer after repeated ones.
	if err := b.waitSessions(ctx, 3, 7*time.Minute); err != nil {
		return err
	}
	if err := b.waitBFDUp(ctx, 3, time.Minute); err != nil {
		return err
	}
	// Sessions just opened: let BFD settle before counting.
	time.Sleep(2 * time.Second)
	return nil
}

// bfdProfile is a BFD profile of interval ms × mult.
func bfdProfile(name string, interval, mult uint32) *v1beta1.BFDProfile {
	return &v1beta1.BFDProfile{ObjectMeta: objMeta(name), Spec: v1beta1.BFDProfileSpec{
		ReceiveInterval: ptr(interval), TransmitInterval: ptr(interval), DetectMultiplier: ptr(mult),
	}}
}

// peer is an eBGP BGPPeer of every node, with BFD profile bfd and the
// TCP-MD5 password of Secret secret if not "".
func peer(name, addr string, asn uint32, connect time.Duration, bfd, secret string) *v1beta1.BGPPeer {
	p := &v1beta1.BGPPeer{ObjectMeta: objMeta(name), Spec: v1beta1.BGPPeerSpec{
		MyASN: myASN, PeerASN: asn, PeerAddress: addr,
		HoldTime:      &metav1.Duration{Duration: 9 * time.Second},
		KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
		ConnectTime:   &metav1.Duration{Duration: connect},
		BFDProfile:    bfd,
	}}
	if secret != "" {
		p.Spec.PasswordSecret = &corev1.SecretReference{Name: secret, Namespace: ns}
	}
	return p
}

// cleanup deletes every herald object in herald's namespace, the bench's
// Secret and every LoadBalancer Service of svcNS.
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
	err := b.c.Delete(ctx, &corev1.Secret{ObjectMeta: objMeta(gobgpSecret)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Secret %s: %w", gobgpSecret, err)
	}
	return nil
}

// waitSessions waits until the FRR router has n Established IPv4 sessions,
// and BIRD and GoBGP an Established session with every node in each
// family.
func (b *bench) waitSessions(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	said := time.Now()
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
		down := "?"
		if err == nil {
			down, err = b.routersDown(ctx)
		}
		if err == nil && up >= n && down == "" {
			return nil
		}
		if time.Since(said) > 30*time.Second {
			progress("still waiting: FRR router %d of %d sessions; not up: %s (%v)", up, n, down, err)
			said = time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, the FRR router has %d of %d Established sessions; not Established: %s (%v)", timeout, up, n, down, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// service is a LoadBalancer Service of pool in families (two: dual-stack).
func service(name, pool string, families ...corev1.IPFamily) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{poolAnno: pool}},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			IPFamilies: families,
			Selector:   map[string]string{"app": name},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	if len(families) > 1 {
		svc.Spec.IPFamilyPolicy = ptr(corev1.IPFamilyPolicyRequireDualStack)
	}
	return svc
}
