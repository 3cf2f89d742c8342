package main

// The two phases of a round and how they share the machine: each has its
// own API server, and they take turns, a slice of Services at a time.

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/heraldlb/herald/e2e/bench/benchproc"
)

// phase is one side of a round: its API server, what the clients do for
// Service i, the watch that sees IPs arrive, and what its slices added up
// to so far.
type phase struct {
	name  string
	label string // short, for file names: limit or herald
	n     int
	cs    kubernetes.Interface
	watch *ipWatch
	// work is what one client does for Service i: create it, and in the
	// limit phase patch its status too.
	work func(ctx context.Context, i int) error
	// serverCPU is the CPU time of the phase's API server and etcd so far.
	serverCPU func() time.Duration
	// herald is the controller's process; nil in the limit phase.
	herald *exec.Cmd
	// stop ends what the phase started (the watch, the controller).
	stop func()

	profiled bool
	// active is the time the phase's slices took, from the first create of
	// each until its last IP was seen and its processes were idle again.
	active time.Duration
	// server is the API server's and etcd's CPU time during the slices.
	server time.Duration
	// steal is the steal time, in ticks, during the slices.
	steal int64
}

// busyCPU is the CPU time of every process doing the phase's work: the API
// server and etcd, and herald in the herald phase.
func (p *phase) busyCPU() time.Duration {
	t := p.serverCPU()
	if p.herald != nil {
		if h, err := benchproc.CPUTime(p.herald.Process.Pid); err == nil {
			t += h
		}
	}
	return t
}

// newLimitPhase prepares the API server's own limit: create, then patch
// status with a precomputed IP, as a perfect controller with no latency
// would.
func newLimitPhase(ctx context.Context, cfg *rest.Config, serverCPU func() time.Duration, n int) (*phase, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := createNamespaces(ctx, cs); err != nil {
		return nil, err
	}
	ips := precomputed(n)
	// The same watch as in the herald phase: a real controller watches.
	w, err := watchIPs(ctx, cfg, n)
	if err != nil {
		return nil, err
	}
	p := &phase{name: "API server limit", label: "limit", n: n, cs: cs, watch: w, serverCPU: serverCPU, stop: w.stop}
	p.work = func(ctx context.Context, i int) error {
		name, err := p.create(ctx, i)
		if err != nil {
			return err
		}
		patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":%q,"ipMode":"VIP"}]}}}`, ips[i])
		if _, err := cs.CoreV1().Services(benchNS).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			return fmt.Errorf("patching status of %s: %w", name, err)
		}
		return nil
	}
	return p, nil
}

// precomputed are the IPs the limit phase writes: the pool's first n
// addresses, as herald would hand them out.
func precomputed(n int) []string {
	out := make([]string, n)
	a := netip.MustParsePrefix(v6PoolCID).Addr().Next()
	for i := range out {
		out[i] = a.String()
		a = a.Next()
	}
	return out
}

// newHeraldPhase starts `herald controller` as its own process, with a
// pool, and waits until it serves a first Service; the clients then only
// create.
func newHeraldPhase(ctx context.Context, cfg *rest.Config, serverCPU func() time.Duration, kubeconfig []byte, bin string, extra []string, n int) (_ *phase, err error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := createNamespaces(ctx, cs); err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	pool := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "heraldlb.io/v1beta1",
		"kind":       "IPAddressPool",
		"metadata":   map[string]any{"name": "bench", "namespace": heraldNS},
		"spec":       map[string]any{"addresses": []any{v6PoolCID}},
	}}
	gvr := schema.GroupVersionResource{Group: "heraldlb.io", Version: "v1beta1", Resource: "ipaddresspools"}
	if _, err := dyn.Resource(gvr).Namespace(heraldNS).Create(ctx, pool, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the pool: %w", err)
	}

	dir, err := os.MkdirTemp("", "herald-bench-")
	if err != nil {
		return nil, err
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, kubeconfig, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	args := append([]string{"controller", "--kubeconfig", kc, "--namespace", heraldNS,
		"--metrics-addr", "0", "--health-addr", "0", "--log-level", "error"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	stopHerald := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	w, err := watchIPs(ctx, cfg, n)
	if err != nil {
		stopHerald()
		return nil, err
	}
	p := &phase{name: "herald", label: "herald", n: n, cs: cs, watch: w, serverCPU: serverCPU, herald: cmd,
		stop: func() { w.stop(); stopHerald() }}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	// Warm up: the controller is up, leading and has its pool.
	if err := warmUp(ctx, cs); err != nil {
		return nil, err
	}
	p.work = func(ctx context.Context, i int) error {
		_, err := p.create(ctx, i)
		return err
	}
	return p, nil
}

// create creates Service i, noting when for the watch, and returns its
// name.
func (p *phase) create(ctx context.Context, i int) (string, error) {
	name := fmt.Sprintf("svc-%05d", i)
	p.watch.created(name)
	if _, err := p.cs.CoreV1().Services(benchNS).Create(ctx, newService(name), metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating %s: %w", name, err)
	}
	return name, nil
}

// runSlice has the clients do Services [from, to), waits until each has
// its IP and the phase's processes are idle again, and adds the time and
// the CPU it took to the phase's sums. It returns the slice's time and,
// of that, the time from the last IP until the processes were idle.
func (p *phase) runSlice(ctx context.Context, from, to, clients int) (took, tail time.Duration, err error) {
	if !p.profiled {
		p.profiled = true
		profileServer(ctx, p.cs, fmt.Sprintf("%s-%d", p.label, p.n))
	}
	server0, steal0 := p.serverCPU(), stealTicks()
	start := time.Now()
	if err := benchproc.FanOut(from, to, clients, func(i int) error { return p.work(ctx, i) }); err != nil {
		return 0, 0, err
	}
	if err := p.watch.waitFor(to); err != nil {
		return 0, 0, err
	}
	lastIP := time.Now()
	end := settle(p.busyCPU)
	p.active += end.Sub(start)
	p.server += p.serverCPU() - server0
	p.steal += stealTicks() - steal0
	return end.Sub(start), end.Sub(lastIP), nil
}

// settle waits until the processes whose CPU time cpu reads are idle —
// they use less than 10 ms in a 100 ms window — and returns when that
// window began. Work a phase's processes still do after the last IP
// (events, pool status, watch fan-out) is so charged to the slice that
// caused it, not to the other phase's next one.
func settle(cpu func() time.Duration) time.Time {
	const window, idle = 100 * time.Millisecond, 10 * time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	at, used := time.Now(), cpu()
	for at.Before(deadline) {
		time.Sleep(window)
		now, c := time.Now(), cpu()
		if c-used < idle {
			break
		}
		at, used = now, c
	}
	return at
}

// result sums up the phase after its last slice.
func (p *phase) result(ctx context.Context) (result, error) {
	lat, err := p.watch.latencies()
	if err != nil {
		return result{}, err
	}
	dups, missing, err := checkIPs(ctx, p.cs, p.n)
	if err != nil {
		return result{}, err
	}
	r := result{phase: p.name, n: p.n, total: p.active, duplicates: dups, missing: missing, load: loadAverage(),
		serverCPU: p.server, steal: stealShare(p.steal, p.active)}
	r.p50, r.p99 = percentiles(lat)
	if p.herald != nil {
		if r.rssKB, err = benchproc.Status(p.herald.Process.Pid, "VmHWM:"); err != nil {
			return result{}, err
		}
		if r.cpu, err = benchproc.CPUTime(p.herald.Process.Pid); err != nil {
			return result{}, err
		}
	}
	return r, nil
}

// runRound runs the phases in turns of slice Services (all n when slice is
// 0 or more than n), the order swapped from one turn to the next so that neither always
// follows the other, and sums each up. Turns pair the phases at equal
// progress: both do Services [from, to) within seconds of each other, on a
// machine whose speed drifts by more over minutes than the difference
// measured.
func runRound(ctx context.Context, phases []*phase, n, clients, slice int) ([]result, error) {
	if slice <= 0 || slice > n {
		slice = n
	}
	for turn, from := 0, 0; from < n; turn, from = turn+1, from+slice {
		to := min(from+slice, n)
		line := fmt.Sprintf("    Services %d to %d:", from, to-1)
		for j := range phases {
			p := phases[(j+turn)%len(phases)]
			took, tail, err := p.runSlice(ctx, from, to, clients)
			if err != nil {
				return nil, fmt.Errorf("%s, Services %d to %d: %w", p.name, from, to-1, err)
			}
			line += fmt.Sprintf("  %s %v (idle after +%v)", p.label, took.Round(time.Millisecond), tail.Round(time.Millisecond))
		}
		if slice < n {
			fmt.Fprintln(os.Stderr, line)
		}
	}
	out := make([]result, 0, len(phases))
	for _, p := range phases {
		r, err := p.result(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}
