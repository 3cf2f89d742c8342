// Command alloc measures how fast herald gives LoadBalancer Services their
// IPs against a real kube-apiserver + etcd, next to the API server's own
// limit for the same work.
//
// For each N (default 1000 and 5000) a round runs two phases, each on a
// fresh test API server of its own (envtest with the binaries of bin/ or
// $KUBEBUILDER_ASSETS; etcd keeps its data in /dev/shm, so that the disk's
// fsync latency does not set the pace):
//
//   - limit: 8 concurrent clients create N Services and each patches the
//     Service's status with a precomputed IP — the best any controller could
//     do through this API server;
//   - herald: `bin/herald controller` runs as a separate process (leader
//     election on, as deployed); 8 concurrent clients create N Services, and a
//     watch records when each gets its IP.
//
// The phases take turns, -slice Services at a time (default 500): the limit
// phase does Services 0–499 on its server, then herald 0–499 on its own,
// then herald 500–999, then the limit, and so on. A turn ends when every
// Service of it shows its IP and the phase's processes (API server, etcd,
// herald) are idle again, so that work left over from one phase (events,
// pool status) is not done in the other's time. Each phase's time is the
// sum of its turns. This pairs the two at equal progress and within
// seconds of each other: this machine's speed (a 2-vCPU VM whose hypervisor
// takes from 0 to 25% of it) drifts by more over minutes than the
// difference measured. With -slice 0 the limit phase runs whole, then herald.
//
// It prints a table: time until all have IPs, services/s, p50/p99
// create→IP latency, duplicate IPs, herald's peak RSS (VmHWM, in MB of 10^6
// bytes) and CPU time, the API server's and etcd's CPU time per Service
// (server/svc: what each phase's requests cost them), the machine's
// 1-minute load average as the round ended, and the share of the machine's
// CPU time the hypervisor gave to others during the phase's turns (steal).
// Each turn's times are printed on standard error as it ends.
//
// With -rounds R each N runs R rounds, and the median of herald's ratios
// to the limit of its own round is printed.
//
//	go run ./e2e/bench/alloc -n 1000,5000 -rounds 3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/heraldlb/herald/e2e/bench/benchproc"
)

const (
	heraldNS  = "herald-system"
	benchNS   = "bench"
	v6PoolCID = "2001:db8:200::/112" // documentation range; never routed
)

type result struct {
	phase string
	n     int
	// round numbers the rounds (-rounds): herald is compared with the
	// limit of its own round.
	round int
	// total is the time the phase's turns took, first create to idle.
	total      time.Duration
	p50, p99   time.Duration
	duplicates int
	missing    int
	rssKB      int64
	// cpu is the controller's CPU time (user + system) over its whole run.
	cpu time.Duration
	// load is the machine's 1-minute load average when the phase ended.
	load string
	// steal is the share of the machine's CPU time the hypervisor gave to
	// others during the phase (steal in /proc/stat).
	steal float64
	// serverCPU is the CPU time the API server and etcd spent during the
	// phase's turns: the work the phase cost them.
	serverCPU time.Duration
}

func main() {
	ns := flag.String("n", "1000,5000", "comma-separated Service counts")
	clients := flag.Int("clients", 8, "concurrent clients creating Services")
	herald := flag.String("herald", "", "the herald binary (default bin/herald at the module root)")
	extra := flag.String("controller-args", "", "extra flags for `herald controller`, space-separated")
	rounds := flag.Int("rounds", 1, "rounds per N, each with fresh API servers")
	slice := flag.Int("slice", 500, "Services per turn: the two phases take turns, this many Services at a time (0 or N: the limit phase, then the herald phase)")
	requests := flag.Bool("requests", false, "print, after each phase, the API server's request counts by verb and resource")
	flag.StringVar(&profileDir, "server-profile", "", "write a CPU profile of each phase's API server, 30 s from 15 s after the phase's first turn began (the other phase's turns fall in it too, with this server idle), to this folder (phase-N-time.prof)")
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())

	root, err := benchproc.ModuleRoot()
	if err != nil {
		fail(err)
	}
	if *herald == "" {
		*herald = filepath.Join(root, "bin", "herald")
	}
	if _, err := os.Stat(*herald); err != nil {
		fail(fmt.Errorf("herald binary: %w (run `make build`)", err))
	}
	var counts []int
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-n: %q is not a positive count", s))
		}
		counts = append(counts, n)
	}
	ctx := context.Background()
	var rows []result
	for _, n := range counts {
		for round := 1; round <= max(1, *rounds); round++ {
			turn := *slice
			if turn <= 0 || turn > n {
				turn = n
			}
			fmt.Fprintf(os.Stderr, "==> N=%d, round %d: the API server's limit (create + status patch with precomputed IPs) and herald (create only), %d clients, %d Services a turn\n",
				n, round, *clients, turn)
			err := withAPIServer(root, func(lcfg *rest.Config, _ []byte, lcpu func() time.Duration) error {
				limit, err := newLimitPhase(ctx, lcfg, lcpu, n)
				if err != nil {
					return fmt.Errorf("limit phase: %w", err)
				}
				defer limit.stop()
				return withAPIServer(root, func(hcfg *rest.Config, kubeconfig []byte, hcpu func() time.Duration) error {
					herald, err := newHeraldPhase(ctx, hcfg, hcpu, kubeconfig, *herald, strings.Fields(*extra), n)
					if err != nil {
						return fmt.Errorf("herald phase: %w", err)
					}
					defer herald.stop()
					rs, err := runRound(ctx, []*phase{limit, herald}, n, *clients, turn)
					if err != nil {
						return err
					}
					if *requests {
						printRequests(ctx, lcfg, fmt.Sprintf("API server limit, N=%d", n))
						printRequests(ctx, hcfg, fmt.Sprintf("herald, N=%d", n))
					}
					for i := range rs {
						rs[i].round = round
					}
					rows = append(rows, rs...)
					return nil
				})
			})
			if err != nil {
				fail(fmt.Errorf("N=%d, round %d: %w", n, round, err))
			}
		}
	}
	printTable(rows)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "alloc bench:", err)
	os.Exit(1)
}

// withAPIServer runs f against a fresh kube-apiserver + etcd with herald's
// CRDs, a service CIDR large enough for thousands of Services (documentation
// ranges; the benchmark's Services are IPv6 single-stack), and stops it
// afterwards.
func withAPIServer(root string, f func(*rest.Config, []byte, func() time.Duration) error) error {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        []string{filepath.Join(root, "config", "crd")},
		ErrorIfCRDPathMissing:    true,
		AttachControlPlaneOutput: os.Getenv("BENCH_DEBUG") != "",
	}
	// etcd keeps its data in memory: on this machine's disk the fsync
	// latency, which sets the pace of every write, varied threefold from
	// one run to the next, and with it both phases' figures.
	if dir, err := os.MkdirTemp("/dev/shm", "herald-bench-etcd-"); err == nil {
		defer os.RemoveAll(dir)
		env.ControlPlane.Etcd = &envtest.Etcd{DataDir: dir}
	}
	api := env.ControlPlane.GetAPIServer()
	api.Configure().Set("service-cluster-ip-range", "198.51.100.0/24,2001:db8:1::/108")
	api.Configure().Set("max-requests-inflight", "800")
	api.Configure().Set("max-mutating-requests-inflight", "400")
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the test API server: %w", err)
	}
	defer func() { _ = env.Stop() }()
	cfg.QPS, cfg.Burst = 5000, 10000
	server, err := serverProcesses(cfg.Host)
	if err != nil {
		return err
	}
	return f(cfg, env.KubeConfig, func() time.Duration {
		var sum time.Duration
		for _, pid := range server {
			if t, err := benchproc.CPUTime(pid); err == nil {
				sum += t
			}
		}
		return sum
	})
}

func newService(name string) *corev1.Service {
	no := false
	single := corev1.IPFamilyPolicySingleStack
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: name},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			AllocateLoadBalancerNodePorts: &no,
			IPFamilyPolicy:                &single,
			IPFamilies:                    []corev1.IPFamily{corev1.IPv6Protocol},
			Selector:                      map[string]string{"app": name},
			Ports:                         []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
}

func createNamespaces(ctx context.Context, cs kubernetes.Interface) error {
	for _, n := range []string{heraldNS, benchNS} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", n, err)
		}
	}
	return nil
}

// ipWatch records when each Service was created and when it first showed
// an IP, through an informer (a watch), in both phases alike.
type ipWatch struct {
	n         int
	mu        sync.Mutex
	createdAt map[string]time.Time
	got       map[string]time.Time
	// changed is signalled, without blocking, when a Service first shows
	// an IP; waitFor is its only reader.
	changed chan struct{}
	stop    context.CancelFunc
}

// watchIPs starts recording, for n Services, when each gets its IP. The
// watch is in protobuf, as a controller's is (client-go and
// controller-runtime watch built-in types in protobuf): in JSON, the API
// server would encode every Service event twice in the herald phase, once
// for herald and once for the bench.
func watchIPs(ctx context.Context, cfg *rest.Config, n int) (*ipWatch, error) {
	pcfg := rest.CopyConfig(cfg)
	pcfg.ContentType = kruntime.ContentTypeProtobuf
	pcfg.AcceptContentTypes = kruntime.ContentTypeProtobuf + "," + kruntime.ContentTypeJSON
	cs, err := kubernetes.NewForConfig(pcfg)
	if err != nil {
		return nil, err
	}
	w := &ipWatch{n: n, createdAt: make(map[string]time.Time, n), got: make(map[string]time.Time, n), changed: make(chan struct{}, 1)}
	record := func(obj any) {
		svc, ok := obj.(*corev1.Service)
		if !ok || len(svc.Status.LoadBalancer.Ingress) == 0 || !strings.HasPrefix(svc.Name, "svc-") {
			return
		}
		now := time.Now()
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, seen := w.got[svc.Name]; seen {
			return
		}
		w.got[svc.Name] = now
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
	wctx, stop := context.WithCancel(ctx)
	w.stop = stop
	inf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(benchNS))
	si := inf.Core().V1().Services().Informer()
	if _, err := si.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    record,
		UpdateFunc: func(_, obj any) { record(obj) },
	}); err != nil {
		stop()
		return nil, err
	}
	inf.Start(wctx.Done())
	inf.WaitForCacheSync(wctx.Done())
	return w, nil
}

// created notes that the Service is about to be created.
func (w *ipWatch) created(name string) {
	w.mu.Lock()
	w.createdAt[name] = time.Now()
	w.mu.Unlock()
}

// waitFor waits until m Services show an IP.
func (w *ipWatch) waitFor(m int) error {
	deadline := time.After(10 * time.Minute)
	for {
		w.mu.Lock()
		got := len(w.got)
		w.mu.Unlock()
		if got >= m {
			return nil
		}
		select {
		case <-w.changed:
		case <-deadline:
			return fmt.Errorf("only %d of %d Services got an IP within 10 minutes", got, m)
		}
	}
}

// latencies are the create→IP latencies of the Services seen so far.
func (w *ipWatch) latencies() ([]time.Duration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	lat := make([]time.Duration, 0, len(w.got))
	for name, t := range w.got {
		c, ok := w.createdAt[name]
		if !ok {
			return nil, fmt.Errorf("service %s has an IP but was not created by the bench", name)
		}
		lat = append(lat, t.Sub(c))
	}
	return lat, nil
}

// profileDir is -server-profile: where profileServer writes.
var profileDir string

// profileServer, with -server-profile, takes a 30-second CPU profile of the
// API server from 15 s on, in the background, into profileDir (name, then
// the time). A phase that ends first leaves no profile.
func profileServer(ctx context.Context, cs kubernetes.Interface, name string) {
	if profileDir == "" {
		return
	}
	go func() {
		time.Sleep(15 * time.Second)
		data, err := cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "30").DoRaw(ctx)
		if err == nil {
			err = os.WriteFile(filepath.Join(profileDir, name+"-"+time.Now().Format("150405")+".prof"), data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "alloc bench: profiling the API server (%s): %v\n", name, err)
		}
	}()
}

func warmUp(ctx context.Context, cs kubernetes.Interface) error {
	svc := newService("warmup")
	if _, err := cs.CoreV1().Services(benchNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the warm-up service: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s, err := cs.CoreV1().Services(benchNS).Get(ctx, "warmup", metav1.GetOptions{})
		if err == nil && len(s.Status.LoadBalancer.Ingress) > 0 {
			return cs.CoreV1().Services(benchNS).Delete(ctx, "warmup", metav1.DeleteOptions{})
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the controller gave the warm-up service no IP within 60s")
}

// checkIPs lists the Services and counts IPs held by more than one, and
// Services with no IP.
func checkIPs(ctx context.Context, cs kubernetes.Interface, n int) (dups, missing int, err error) {
	list, err := cs.CoreV1().Services(benchNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, fmt.Errorf("listing services: %w", err)
	}
	seen := map[string]int{}
	count := 0
	for _, s := range list.Items {
		if !strings.HasPrefix(s.Name, "svc-") {
			continue
		}
		count++
		if len(s.Status.LoadBalancer.Ingress) == 0 {
			missing++
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			seen[in.IP]++
		}
	}
	for _, c := range seen {
		if c > 1 {
			dups += c - 1
		}
	}
	missing += n - count
	return dups, missing, nil
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1))] }
	return at(0.50), at(0.99)
}

// printTable prints one row per phase, herald's compared with the limit of
// its round, then, with several rounds, the median of herald's ratios per N.
func printTable(rows []result) {
	fmt.Printf("%-18s %6s %5s %10s %10s %9s %9s %5s %7s %9s %8s %11s %8s %5s %6s\n",
		"phase", "N", "round", "all IPs", "svc/s", "p50", "p99", "dups", "missing", "peak RSS", "CPU", "server/svc", "vs limit", "load", "steal")
	type key struct{ n, round int }
	limit := map[key]float64{}
	ratios := map[int][]float64{}
	var ns []int
	for _, r := range rows {
		rate := float64(r.n) / r.total.Seconds()
		vs, rss := "", "-"
		if r.phase == "API server limit" {
			limit[key{r.n, r.round}] = rate
		} else if l := limit[key{r.n, r.round}]; l > 0 {
			vs = fmt.Sprintf("%.0f%%", 100*rate/l)
			if len(ratios[r.n]) == 0 {
				ns = append(ns, r.n)
			}
			ratios[r.n] = append(ratios[r.n], rate/l)
		}
		cpu := "-"
		if r.rssKB > 0 {
			rss = fmt.Sprintf("%.1f MB", float64(r.rssKB)*1024/1e6) // MB: 10^6 bytes, as the target
			cpu = r.cpu.Round(10 * time.Millisecond).String()
		}
		perSvc := (r.serverCPU / time.Duration(r.n)).Round(10 * time.Microsecond)
		fmt.Printf("%-18s %6d %5d %10s %10.0f %9s %9s %5d %7d %9s %8s %11s %8s %5s %5.1f%%\n", r.phase, r.n, r.round,
			r.total.Round(time.Millisecond), rate, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond),
			r.duplicates, r.missing, rss, cpu, perSvc, vs, r.load, 100*r.steal)
	}
	for _, n := range ns {
		rs := ratios[n]
		if len(rs) < 2 {
			continue
		}
		sort.Float64s(rs)
		median := (rs[(len(rs)-1)/2] + rs[len(rs)/2]) / 2
		fmt.Printf("N=%d: herald at %.0f%% of the limit, median of %d rounds (lowest %.0f%%, highest %.0f%%)\n",
			n, 100*median, len(rs), 100*rs[0], 100*rs[len(rs)-1])
	}
}

// printRequests prints on standard error the API server's
// apiserver_request_total counters, summed by verb, resource and
// subresource, most first: what a phase asked of the server.
func printRequests(ctx context.Context, cfg *rest.Config, phase string) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "requests (%s): %v\n", phase, err)
		return
	}
	body, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "requests (%s): reading /metrics: %v\n", phase, err)
		return
	}
	counts := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			if k, val, ok := strings.Cut(kv, "="); ok {
				l[k] = strings.Trim(val, `"`)
			}
		}
		key := l["verb"] + " " + l["resource"]
		if l["subresource"] != "" {
			key += "/" + l["subresource"]
		}
		counts[key+" "+l["code"]] += v
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	fmt.Fprintf(os.Stderr, "requests (%s), verb resource code:\n", phase)
	for _, k := range keys[:min(len(keys), 15)] {
		fmt.Fprintf(os.Stderr, "  %8.0f  %s\n", counts[k], k)
	}
}
