// Command l2lab measures herald's Layer 2 mode on the lab (e2e/lab, the
// `herald speaker` processes of its three nodes) and prints a table:
//
//   - L2 failover: the client probes a Service IP with ARP every -interval
//     (10 ms); the owner's LAN link is cut at the switch; the time from the
//     cut (taken before `ip link set down` runs) to the first ARP reply from
//     another node, p50 and max over -trials trials;
//   - graceful move: the owner's speaker gets SIGTERM; the time to the first
//     reply from another node, over -trials trials (the speaker is started
//     again with the same command line after each);
//   - stability: -stability long (2 minutes) with every core kept busy by a
//     CPU burner process and -services Services: the ownership changes the
//     speakers count (herald_l2_ownership_changes_total, gained) and the
//     IPs whose NodeState owner differs at the end; both must be 0.
//
// The owner and the new owner are identified by their LAN MACs; who owns
// the IP comes from the NodeStates. It brings the lab up (keeping one that
// is up), replaces every herald object in herald's namespace and every
// LoadBalancer Service of "default" with its own, and takes the lab down at
// the end unless -keep. Run as root from the module root after `make build`:
//
//	go run ./e2e/bench/l2lab -trials 10 -stability 2m
//
// Measured on the 2-core shared machine (2026-11-22, herald at 6acaedd):
// link-cut failover p50 357 ms, max 496 ms; graceful move p50 46 ms, max
// 57 ms; stability 2 min, 100 Services, 2 burners: 0 ownership changes, 0
// membership changes. Again at f34a1c6 (dead nodes count until silent for
// 250 ms, the ready handshake, a cut node not ready), load average 4.8 at
// the start and 9.4 at the end (loaded): failover p50 370 ms, max 459 ms;
// graceful move p50 35 ms, max 64 ms; stability 0 ownership changes, 0
// membership changes.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
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
	ns       = lab.HeraldNamespace
	svcNS    = "default"
	poolName = "l2-bench"
	advName  = "l2-bench"
	// poolAnnotation pins a Service to a pool.
	poolAnnotation = "heraldlb.io/address-pool"
	// settle bounds every wait for the lab to follow a change.
	settle = 90 * time.Second
)

func main() {
	trials := flag.Int("trials", 10, "trials of the failover and graceful move rows")
	interval := flag.Duration("interval", 10*time.Millisecond, "ARP probe interval of the client")
	stability := flag.Duration("stability", 2*time.Minute, "length of the stability run (0: skip)")
	services := flag.Int("services", 100, "Services of the stability run")
	keep := flag.Bool("keep", false, "leave the lab up at the end")
	verbose := flag.Bool("v", false, "log the lab's progress")
	flag.Parse()
	if *trials < 1 {
		fmt.Fprintf(os.Stderr, "l2lab bench: -trials=%d: use at least 1\n", *trials)
		os.Exit(2)
	}
	if *services < 1 || *services > 120 {
		fmt.Fprintf(os.Stderr, "l2lab bench: -services=%d: use 1 to 120 (the pool is 192.0.2.0/25)\n", *services)
		os.Exit(2)
	}
	if err := run(*trials, *interval, *stability, *services, *keep, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "l2lab bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is the lab, a client of its API server and the nodes' MACs.
type bench struct {
	lab  *lab.Lab
	c    client.Client
	macs map[string]string // LAN MAC -> node
	// restarted are the speakers this bench started again: the lab's
	// state still has their first pids.
	restarted map[string]*l2.Speaker
}

func run(trials int, interval, stability time.Duration, services int, keep, verbose bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, c, done, err := benchlab.Up(ctx, benchlab.Options{Name: "l2lab bench", Keep: keep, Verbose: verbose,
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
	b := &bench{lab: l, c: c, macs: macs, restarted: map[string]*l2.Speaker{}}
	if err := b.setup(ctx); err != nil {
		return err
	}
	ip, err := b.service(ctx, "l2-bench-000")
	if err != nil {
		return err
	}
	prober, err := l2.StartProber(ctx, l, ip, interval)
	if err != nil {
		return err
	}
	defer prober.Stop()

	type result struct {
		name, target string
		d            []time.Duration
		note         string
	}
	var rows []result
	cut, err := b.trials(ctx, prober, ip, trials, b.cutTrial)
	if err != nil {
		return fmt.Errorf("L2 failover: %w", err)
	}
	rows = append(rows, result{"L2 failover (link cut)", "p50 ≤ 500ms (stretch ≤ 200ms)", cut, ""})
	term, err := b.trials(ctx, prober, ip, trials, b.termTrial)
	if err != nil {
		return fmt.Errorf("graceful move: %w", err)
	}
	rows = append(rows, result{"graceful move (SIGTERM)", "p50 ≤ 100ms", term, ""})
	var stab string
	if stability > 0 {
		if stab, err = b.stability(ctx, ip, services, stability); err != nil {
			return fmt.Errorf("stability: %w", err)
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "herald L2 on the lab (3 nodes, ARP probe every %s, %d cores)\n", interval, runtime.NumCPU())
	fmt.Fprintln(w, "measure\tn\tp50\tmax\ttarget\tall")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", r.name, len(r.d), benchlab.MS(benchlab.Pct(r.d, 50)), benchlab.MS(slices.Max(r.d)), r.target, benchlab.List(r.d))
	}
	if stab != "" {
		fmt.Fprintf(w, "stability (%s, %d Services, %d CPU burners)\t\t\t\t0 ownership changes\t%s\n", stability, services, runtime.NumCPU(), stab)
	}
	return w.Flush()
}

// setup replaces herald's objects with one IPv4 pool and one
// L2Advertisement on the nodes' LAN link, and no BGP object.
func (b *bench) setup(ctx context.Context) error {
	if err := benchlab.Reset(ctx, b.c, ns, svcNS, settle); err != nil {
		return err
	}
	for _, obj := range []client.Object{
		&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: poolName, Namespace: ns},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/25"}}},
		&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: advName, Namespace: ns},
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{poolName}, Interfaces: []v1beta1.InterfaceName{l2.LANLink}}},
	} {
		if err := b.c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

// service creates an IPv4 LoadBalancer Service and returns its address.
func (b *bench) service(ctx context.Context, name string) (netip.Addr, error) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{poolAnnotation: poolName}},
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

// owners maps each IP the NodeStates list in their L2 announcements to the
// nodes listing it.
func (b *bench) owners(ctx context.Context) (map[netip.Addr][]string, error) {
	var states v1beta1.NodeStateList
	if err := b.c.List(ctx, &states); err != nil {
		return nil, err
	}
	out := map[netip.Addr][]string{}
	for _, s := range states.Items {
		for _, a := range s.Status.L2Announcements {
			if ip, err := netip.ParseAddr(a.IP); err == nil && !slices.Contains(out[ip], s.Name) {
				out[ip] = append(out[ip], s.Name)
			}
		}
	}
	return out, nil
}

// settled waits until exactly one node's NodeState lists ip and the
// client's probes are answered by that node's MAC, and returns the node.
func (b *bench) settled(ctx context.Context, p *l2.Prober, ip netip.Addr) (string, error) {
	var owner string
	var lastErr error
	err := benchlab.Poll(ctx, settle, func() (bool, error) {
		o, err := b.owners(ctx)
		if err != nil {
			return false, err
		}
		if len(o[ip]) != 1 {
			return false, nil
		}
		owner = o[ip][0]
		// The NodeStates lag the speakers: a node that has just handed the
		// IP back (a restarted owner taking it again) may still list it.
		// Replies from the node they name, else ask them again.
		p.Drain()
		if _, lastErr = p.WaitFor(b.macOf(owner), time.Now(), 5*time.Second); lastErr != nil {
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for one owner of %s in the NodeStates answering ARP (last: %v): %w", ip, lastErr, err)
	}
	// Two seconds of replies from the owner alone.
	mac := b.macOf(owner)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		select {
		case r := <-p.Replies():
			if r.MAC != mac {
				return b.settled(ctx, p, ip)
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	return owner, nil
}

func (b *bench) macOf(node string) string {
	for m, n := range b.macs {
		if n == node {
			return m
		}
	}
	return ""
}

// firstOther returns the time of the first reply after since from a MAC
// other than old's.
func (b *bench) firstOther(p *l2.Prober, old string, since time.Time) (time.Time, string, error) {
	oldMAC := b.macOf(old)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case r, ok := <-p.Replies():
			if !ok {
				return time.Time{}, "", errors.New("prober stopped")
			}
			if r.MAC != oldMAC && r.At.After(since) {
				return r.At, b.macs[r.MAC], nil
			}
		case <-deadline:
			return time.Time{}, "", fmt.Errorf("no reply from a node other than %s within 30s", old)
		}
	}
}

// trials runs trial n times, each once the IP has settled on one owner.
func (b *bench) trials(ctx context.Context, p *l2.Prober, ip netip.Addr, n int,
	trial func(context.Context, *l2.Prober, string) (time.Duration, error)) ([]time.Duration, error) {
	var out []time.Duration
	for i := range n {
		owner, err := b.settled(ctx, p, ip)
		if err != nil {
			return nil, err
		}
		d, err := trial(ctx, p, owner)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		fmt.Fprintf(os.Stderr, "trial %d: %s lost %s: %s\n", i+1, owner, ip, benchlab.MS(d))
		out = append(out, d)
	}
	return out, nil
}

// cutTrial cuts owner's LAN link, times the first reply from another node
// and restores the link.
func (b *bench) cutTrial(ctx context.Context, p *l2.Prober, owner string) (time.Duration, error) {
	p.Drain()
	t0 := time.Now()
	if err := b.lab.CutLink(ctx, owner); err != nil {
		return 0, err
	}
	at, _, err := b.firstOther(p, owner, t0)
	if rerr := b.lab.RestoreLink(context.WithoutCancel(ctx), owner); rerr != nil {
		return 0, errors.Join(err, rerr)
	}
	if err != nil {
		return 0, err
	}
	return at.Sub(t0), nil
}

// termTrial sends SIGTERM to owner's speaker, times the first reply from
// another node, and starts the speaker again.
func (b *bench) termTrial(ctx context.Context, p *l2.Prober, owner string) (time.Duration, error) {
	sp, ok := b.restarted[owner]
	if !ok {
		found, err := l2.FindSpeaker(b.lab, owner)
		if err != nil {
			return 0, err
		}
		sp = &found
	}
	p.Drain()
	t0 := time.Now()
	if err := sp.Signal(syscall.SIGTERM, false); err != nil {
		return 0, err
	}
	at, _, ferr := b.firstOther(p, owner, t0)
	if err := sp.Signal(0, true); err != nil && !errors.Is(err, syscall.ESRCH) {
		return 0, errors.Join(ferr, err)
	}
	if err := sp.Restart(); err != nil {
		return 0, errors.Join(ferr, err)
	}
	b.restarted[owner] = sp
	node, _ := b.lab.Plan().Node(owner)
	if err := waitReadyz(ctx, node.Mgmt.String()+":7473"); err != nil {
		return 0, errors.Join(ferr, err)
	}
	if ferr != nil {
		return 0, ferr
	}
	return at.Sub(t0), nil
}

// stability creates services-1 more Services, keeps every core busy for d
// and returns what changed: ownership changes the speakers counted and IPs
// whose owner differs at the end.
func (b *bench) stability(ctx context.Context, first netip.Addr, services int, d time.Duration) (string, error) {
	ips := []netip.Addr{first}
	for i := 1; i < services; i++ {
		ip, err := b.service(ctx, fmt.Sprintf("l2-bench-%03d", i))
		if err != nil {
			return "", err
		}
		ips = append(ips, ip)
	}
	var before map[netip.Addr][]string
	err := benchlab.Poll(ctx, settle, func() (bool, error) {
		var err error
		if before, err = b.owners(ctx); err != nil {
			return false, err
		}
		for _, ip := range ips {
			if len(before[ip]) != 1 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for one owner of each of %d IPs: %w", len(ips), err)
	}
	time.Sleep(3 * time.Second) // the gratuitous bursts of the new IPs end
	gained0, member0, err := b.counters(ctx)
	if err != nil {
		return "", err
	}
	var burners []*exec.Cmd
	for range runtime.NumCPU() {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			return "", fmt.Errorf("starting a CPU burner: %w", err)
		}
		burners = append(burners, cmd)
	}
	// Sample the NodeStates through the run: any IP seen without exactly
	// its first owner counts.
	moved := map[netip.Addr]bool{}
	end := time.Now().Add(d)
	var serr error
	for time.Now().Before(end) {
		o, err := b.owners(ctx)
		if err != nil {
			serr = err
			break
		}
		for _, ip := range ips {
			if !slices.Equal(o[ip], before[ip]) {
				moved[ip] = true
			}
		}
		time.Sleep(time.Second)
	}
	for _, cmd := range burners {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	if serr != nil {
		return "", serr
	}
	gained1, member1, err := b.counters(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("ownership changes (gained, all speakers) %d; IPs whose NodeState owner changed %d/%d; membership changes %d",
		gained1-gained0, len(moved), len(ips), member1-member0), nil
}

// counters sums herald_l2_ownership_changes_total{direction="gained"} and
// herald_l2_membership_changes_total over every speaker's /metrics.
func (b *bench) counters(ctx context.Context) (gained, member int, err error) {
	for _, n := range b.lab.Plan().Nodes {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Mgmt.String()+":7472/metrics", nil)
		if err != nil {
			return 0, 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, fmt.Errorf("metrics of %s's speaker: %w", n.Name, err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			v, perr := strconv.ParseFloat(f[1], 64)
			if perr != nil {
				continue
			}
			switch {
			case strings.HasPrefix(line, `herald_l2_ownership_changes_total{direction="gained"}`):
				gained += int(v)
			case strings.HasPrefix(line, "herald_l2_membership_changes_total{"):
				member += int(v)
			}
		}
		resp.Body.Close()
	}
	return gained, member, nil
}

// waitReadyz waits until http://addr/readyz answers 200.
func waitReadyz(ctx context.Context, addr string) error {
	return benchlab.Poll(ctx, settle, func() (bool, error) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}
