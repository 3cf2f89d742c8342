// Command conflict measures herald's IP conflict detection on the lab
// (e2e/lab, the `herald speaker` and `herald controller` processes of its
// three nodes) and prints a table, for IPv4 and IPv6, over -trials trials
// each:
//
//   - squatter first: the client holds the address (ip addr add, IPv6
//     nodad, and one unsolicited claim); the time from the Create of a
//     Service asking for it to the Service's heraldlb.io/Announced
//     condition False, reason IPConflict, naming the client's MAC (the
//     owner's probe is answered by the client's kernel);
//   - while announcing: a node answers for the Service's address; the
//     client puts it on its link and sends one gratuitous ARP request
//     (IPv4) or unsolicited Neighbor Advertisement (IPv6); the time from
//     that packet to the same condition;
//   - the squatter leaves (ip addr del): the time to the condition True
//     again, naming the node that answers, after each of the two.
//
// The condition is read every 10 ms, so times are to within that; each
// trial uses a new address. It brings the lab up (keeping one that is up;
// the lab lock serializes it with every other lab user), replaces every
// herald object in herald's namespace and every LoadBalancer Service of
// "default" with its own, and takes the lab down at the end unless -keep.
// Run as root from the module root after `make build`:
//
//	go run ./e2e/bench/conflict -trials 5
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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/e2e/bench/benchlab"
	"github.com/heraldlb/herald/e2e/l2"
	"github.com/heraldlb/herald/e2e/lab"
)

const (
	ns    = lab.HeraldNamespace
	svcNS = "default"
	// settle bounds every wait for the lab to follow a change.
	settle = 90 * time.Second
	// every is how often the Service's condition is read.
	every = 10 * time.Millisecond
)

// pools: the Services ask for addresses in these by annotation.
var (
	pool4  = netip.MustParsePrefix("192.0.2.0/26")
	pool6  = netip.MustParsePrefix("2001:db8:200::/120")
	first4 = netip.MustParseAddr("192.0.2.20")
	first6 = netip.MustParseAddr("2001:db8:200::20")
)

func main() {
	trials := flag.Int("trials", 5, "trials of each scenario and family")
	keep := flag.Bool("keep", false, "leave the lab up at the end")
	verbose := flag.Bool("v", false, "log the lab's progress")
	flag.Parse()
	if *trials < 1 || *trials > 10 {
		fmt.Fprintf(os.Stderr, "conflict bench: -trials=%d: use 1 to 10 (each trial takes two addresses of %s)\n", *trials, pool4)
		os.Exit(2)
	}
	if err := run(*trials, *keep, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "conflict bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is the lab, a client of its API server and the client's MAC.
type bench struct {
	lab *lab.Lab
	c   client.Client
	mac string
}

// row is one line of the table.
type row struct {
	name, target string
	d            []time.Duration
}

func run(trials int, keep, verbose bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, c, done, err := benchlab.Up(ctx, benchlab.Options{Name: "conflict bench", Keep: keep, Verbose: verbose,
		Require: []string{lab.Controller, lab.Speaker},
	})
	if done != nil {
		defer done()
	}
	if err != nil {
		return err
	}
	mac, err := l2.ClientMAC(ctx, l)
	if err != nil {
		return err
	}
	b := &bench{lab: l, c: c, mac: mac}
	if err := b.setup(ctx); err != nil {
		return err
	}

	var rows []row
	for _, fam := range []struct {
		name, claim string
		first       netip.Addr
	}{{"IPv4", "gratuitous ARP", first4}, {"IPv6", "unsolicited NA", first6}} {
		var before, during, leftBefore, leftDuring []time.Duration
		ip := fam.first
		for i := range trials {
			d, left, err := b.squatFirst(ctx, fmt.Sprintf("conflict-%s-first-%d", strings.ToLower(fam.name), i), ip)
			if err != nil {
				return fmt.Errorf("%s squatter first, trial %d: %w", fam.name, i+1, err)
			}
			fmt.Fprintf(os.Stderr, "%s squatter first %d (%s): IPConflict %s, announced %s after it left\n", fam.name, i+1, ip, benchlab.MS(d), benchlab.MS(left))
			before, leftBefore = append(before, d), append(leftBefore, left)
			ip = ip.Next()
			d, left, err = b.whileAnnouncing(ctx, fmt.Sprintf("conflict-%s-during-%d", strings.ToLower(fam.name), i), ip)
			if err != nil {
				return fmt.Errorf("%s while announcing, trial %d: %w", fam.name, i+1, err)
			}
			fmt.Fprintf(os.Stderr, "%s while announcing %d (%s): IPConflict %s, True %s after it left\n", fam.name, i+1, ip, benchlab.MS(d), benchlab.MS(left))
			during, leftDuring = append(during, d), append(leftDuring, left)
			ip = ip.Next()
		}
		rows = append(rows,
			row{fam.name + ": Service created → IPConflict (squatter first)", "≤ 1s", before},
			row{fam.name + ": " + fam.claim + " → IPConflict (while announcing)", "≤ 1s", during},
			row{fam.name + ": squatter leaves → Announced=True (after squatter first)", "", leftBefore},
			row{fam.name + ": squatter leaves → Announced=True (while announcing)", "", leftDuring},
		)
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "herald IP conflict detection on the lab (3 nodes, condition read every %s, %d cores)\n", every, runtime.NumCPU())
	fmt.Fprintln(w, "measure\tn\tp50\tp99\tmax\ttarget\tall")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.name, len(r.d), benchlab.MS(benchlab.Pct(r.d, 50)), benchlab.MS(benchlab.Pct(r.d, 99)), benchlab.MS(slices.Max(r.d)), r.target, benchlab.List(r.d))
	}
	return w.Flush()
}

// squatFirst: the client holds ip; a Service asks for it. It returns the
// time from the Service's Create to IPConflict, and from the client
// letting ip go to the condition True.
func (b *bench) squatFirst(ctx context.Context, name string, ip netip.Addr) (detect, left time.Duration, err error) {
	defer func() { err = errors.Join(err, b.cleanup(ctx, name, ip)) }()
	if _, err := l2.Squat(ctx, b.lab, ip); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	svc, err := b.service(ctx, name, ip)
	if err != nil {
		return 0, 0, err
	}
	at, err := b.waitCondition(ctx, svc, b.conflicted)
	if err != nil {
		return 0, 0, err
	}
	detect = at.Sub(t0)
	t1 := time.Now()
	if err := l2.Unsquat(ctx, b.lab, ip); err != nil {
		return 0, 0, err
	}
	if at, err = b.waitCondition(ctx, svc, announced); err != nil {
		return 0, 0, err
	}
	return detect, at.Sub(t1), nil
}

// whileAnnouncing: a node answers for a Service's ip; the client takes it
// and claims it once. It returns the time from the claim to IPConflict,
// and from the client letting ip go to the condition True.
func (b *bench) whileAnnouncing(ctx context.Context, name string, ip netip.Addr) (detect, left time.Duration, err error) {
	defer func() { err = errors.Join(err, b.cleanup(ctx, name, ip)) }()
	svc, err := b.service(ctx, name, ip)
	if err != nil {
		return 0, 0, err
	}
	if _, err := b.waitCondition(ctx, svc, announced); err != nil {
		return 0, 0, err
	}
	if err := l2.AddSquat(ctx, b.lab, ip); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := l2.Claim(b.lab, ip); err != nil {
		return 0, 0, err
	}
	at, err := b.waitCondition(ctx, svc, b.conflicted)
	if err != nil {
		return 0, 0, err
	}
	detect = at.Sub(t0)
	t1 := time.Now()
	if err := l2.Unsquat(ctx, b.lab, ip); err != nil {
		return 0, 0, err
	}
	if at, err = b.waitCondition(ctx, svc, announced); err != nil {
		return 0, 0, err
	}
	return detect, at.Sub(t1), nil
}

// conflicted: the condition says IPConflict naming the client's MAC.
func (b *bench) conflicted(c *metav1.Condition) bool {
	return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controllers.ReasonIPConflict && strings.Contains(c.Message, b.mac)
}

// announced: the condition is True (a node answers).
func announced(c *metav1.Condition) bool { return c != nil && c.Status == metav1.ConditionTrue }

// waitCondition reads svc's Announced condition every 10 ms until ok and
// returns when it was read so.
func (b *bench) waitCondition(ctx context.Context, svc *corev1.Service, ok func(*metav1.Condition) bool) (time.Time, error) {
	deadline := time.Now().Add(settle)
	var last *metav1.Condition
	for time.Now().Before(deadline) {
		var cur corev1.Service
		if err := b.c.Get(ctx, client.ObjectKeyFromObject(svc), &cur); err != nil {
			return time.Time{}, err
		}
		last = meta.FindStatusCondition(cur.Status.Conditions, controllers.ConditionAnnounced)
		if ok(last) {
			return time.Now(), nil
		}
		time.Sleep(every)
	}
	return time.Time{}, fmt.Errorf("Service %s: condition %+v after %s", svc.Name, last, settle)
}

// setup replaces herald's objects with an IPv4 and an IPv6 pool and one
// L2Advertisement of both on the nodes' LAN link, and no BGP object.
func (b *bench) setup(ctx context.Context) error {
	if err := benchlab.Reset(ctx, b.c, ns, svcNS, settle); err != nil {
		return err
	}
	for _, obj := range []client.Object{
		&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "conflict-v4", Namespace: ns},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{v1beta1.AddressRange(pool4.String())}}},
		&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "conflict-v6", Namespace: ns},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{v1beta1.AddressRange(pool6.String())}}},
		&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "conflict", Namespace: ns},
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"conflict-v4", "conflict-v6"}, Interfaces: []v1beta1.InterfaceName{l2.LANLink}}},
	} {
		if err := b.c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

// service creates a single-stack LoadBalancer Service asking for ip.
func (b *bench) service(ctx context.Context, name string, ip netip.Addr) (*corev1.Service, error) {
	fam := corev1.IPv4Protocol
	if ip.Is6() {
		fam = corev1.IPv6Protocol
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS, Annotations: map[string]string{"heraldlb.io/loadBalancerIPs": ip.String()}},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			IPFamilies: []corev1.IPFamily{fam},
			Selector:   map[string]string{"app": name},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	if err := b.c.Create(ctx, svc); err != nil {
		return nil, fmt.Errorf("creating Service %s: %w", name, err)
	}
	return svc, nil
}

// cleanup lets ip go from the client, deletes the Service and waits until
// no NodeState lists ip, announced or in conflict.
func (b *bench) cleanup(ctx context.Context, name string, ip netip.Addr) error {
	err := l2.Unsquat(ctx, b.lab, ip)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svcNS}}
	if derr := b.c.Delete(ctx, svc); derr != nil && !apierrors.IsNotFound(derr) {
		return errors.Join(err, derr)
	}
	return errors.Join(err, benchlab.Poll(ctx, settle, func() (bool, error) {
		var states v1beta1.NodeStateList
		if err := b.c.List(ctx, &states); err != nil {
			return false, err
		}
		for _, s := range states.Items {
			for _, a := range s.Status.L2Announcements {
				if a.IP == ip.String() {
					return false, nil
				}
			}
			for _, c := range s.Status.IPConflicts {
				if c.IP == ip.String() {
					return false, nil
				}
			}
		}
		return true, nil
	}))
}
