// Command coldstart measures how long `herald controller` takes from its
// start to ready with many LoadBalancer Services already allocated, its
// memory, and what it asks of the API server, at start and at steady state.
//
// It starts a test API server (envtest with the binaries of bin/ or
// $KUBEBUILDER_ASSETS; etcd data in /dev/shm; an audit log of every
// request), creates a pool and -n Services (default 10,000) and lets the
// controller allocate them once, so that each carries the status and
// annotations the controller writes. It stops that controller and then, -trials
// times, starts a new one (leader election on, as deployed, with a stable
// identity) and records:
//
//   - ready: start until /readyz answers 200 (leader, caches synced);
//   - restored: until herald_allocator_restored_services reaches N (every
//     Service's addresses rebuilt from its status);
//   - reconciled: until the Service controller has reconciled N Services
//     (controller_runtime_reconcile_total) and its queue is empty: the first
//     reconcile of everything is done;
//   - the requests the controller made from its start to reconciled, in all
//     and the writes among them (from the audit log, by user agent), and
//     per second over the -steady window that follows a 2-second pause;
//   - its resident set at the end of that window and its peak (VmRSS and
//     VmHWM, MB of 10^6 bytes), its CPU time to reconciled and over the
//     window.
//
// It prints one row per trial, then p50 and max of each column, and on
// standard error the requests of the last trial's start by verb and
// resource.
//
//	go run ./e2e/bench/coldstart -n 10000 -trials 5
//
// -profile FILE takes a CPU profile of the last trial's controller from its
// start (-profile-seconds long): what bounds the start.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/heraldlb/herald/e2e/bench/benchproc"
)

const (
	heraldNS = "herald-system"
	benchNS  = "bench"
	poolCIDR = "2001:db8:200::/104" // documentation range; never routed
	// userAgent starts the user agent of every request of the controller:
	// herald-controller, and the leader election's
	// herald/<version> (...) .../leader-election.
	userAgent = "herald"
)

func main() {
	n := flag.Int("n", 10000, "Services")
	trials := flag.Int("trials", 5, "controller starts measured")
	herald := flag.String("herald", "", "the herald binary (default bin/herald at the module root)")
	extra := flag.String("controller-args", "", "extra flags for `herald controller`, space-separated; several sets separated by ';' are each measured -trials times, in turns, against the same Services")
	steady := flag.Duration("steady", 10*time.Second, "steady-state window after the first reconcile of everything")
	profile := flag.String("profile", "", "write a CPU profile of the last trial's controller, from its start for -profile-seconds, to this file")
	profileSecs := flag.Int("profile-seconds", 10, "length of the -profile CPU profile")
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
	dir, err := os.MkdirTemp("", "herald-coldstart-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	b := &bench{n: *n, bin: *herald, dir: dir, steady: *steady, profile: *profile, profileSecs: *profileSecs}
	variants := strings.Split(*extra, ";")
	rows := make([][]trial, len(variants))
	err = b.withAPIServer(root, func() error {
		ctx := context.Background()
		fmt.Fprintf(os.Stderr, "==> creating %d Services and letting the controller allocate them\n", b.n)
		start := time.Now()
		if err := b.seed(ctx); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
		fmt.Fprintf(os.Stderr, "    seeded in %v\n", time.Since(start).Round(time.Second))
		for i := 1; i <= *trials; i++ {
			for v, args := range variants {
				t, err := b.trial(ctx, strings.Fields(args), i == *trials && v == len(variants)-1)
				if err != nil {
					return fmt.Errorf("trial %d, controller args %q: %w", i, args, err)
				}
				fmt.Fprintf(os.Stderr, "    trial %d, controller args %q: ready %v, reconciled %v\n", i, args, t.ready.Round(time.Millisecond), t.reconciled.Round(time.Millisecond))
				rows[v] = append(rows[v], t)
			}
		}
		return nil
	})
	if err != nil {
		fail(err)
	}
	for v, args := range variants {
		printTable(os.Stdout, b.n, strings.TrimSpace(args), rows[v])
	}
	fmt.Printf("command: go run ./e2e/bench/coldstart %s\n", strings.Join(os.Args[1:], " "))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coldstart bench:", err)
	os.Exit(1)
}

type bench struct {
	n      int
	bin    string
	dir    string
	steady time.Duration
	// profile, when set, is where the last trial's CPU profile goes.
	profile     string
	profileSecs int

	cfg        *rest.Config
	cs         kubernetes.Interface
	kubeconfig string
	auditLog   string
}

// withAPIServer runs f against a fresh kube-apiserver + etcd with herald's
// CRDs and an audit log of every request, and stops it afterwards.
func (b *bench) withAPIServer(root string, f func() error) error {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	policy := filepath.Join(b.dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"), 0o600); err != nil {
		return err
	}
	b.auditLog = filepath.Join(b.dir, "audit.log")
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        []string{filepath.Join(root, "config", "crd")},
		ErrorIfCRDPathMissing:    true,
		AttachControlPlaneOutput: os.Getenv("BENCH_DEBUG") != "",
	}
	if dir, err := os.MkdirTemp("/dev/shm", "herald-bench-etcd-"); err == nil {
		defer os.RemoveAll(dir)
		env.ControlPlane.Etcd = &envtest.Etcd{DataDir: dir}
	}
	api := env.ControlPlane.GetAPIServer()
	api.Configure().Set("service-cluster-ip-range", "198.51.100.0/24,2001:db8:1::/108")
	api.Configure().Set("max-requests-inflight", "800")
	api.Configure().Set("max-mutating-requests-inflight", "400")
	api.Configure().Set("audit-policy-file", policy)
	api.Configure().Set("audit-log-path", b.auditLog)
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the test API server: %w", err)
	}
	defer func() { _ = env.Stop() }()
	cfg.QPS, cfg.Burst = 5000, 10000
	b.cfg = cfg
	if b.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	b.kubeconfig = filepath.Join(b.dir, "kubeconfig")
	if err := os.WriteFile(b.kubeconfig, env.KubeConfig, 0o600); err != nil {
		return err
	}
	return f()
}

// seed creates the namespaces, a pool and n Services, starts a controller
// until every Service shows an IP and the controller is idle, and stops it.
func (b *bench) seed(ctx context.Context) error {
	for _, ns := range []string{heraldNS, benchNS} {
		if _, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	dyn, err := dynamic.NewForConfig(b.cfg)
	if err != nil {
		return err
	}
	pool := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "heraldlb.io/v1beta1",
		"kind":       "IPAddressPool",
		"metadata":   map[string]any{"name": "bench", "namespace": heraldNS},
		"spec":       map[string]any{"addresses": []any{poolCIDR}},
	}}
	gvr := schema.GroupVersionResource{Group: "heraldlb.io", Version: "v1beta1", Resource: "ipaddresspools"}
	if _, err := dyn.Resource(gvr).Namespace(heraldNS).Create(ctx, pool, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the pool: %w", err)
	}
	c, err := b.startController("", nil)
	if err != nil {
		return err
	}
	defer c.stop()
	if err := benchproc.FanOut(0, b.n, 16, func(i int) error {
		_, err := b.cs.CoreV1().Services(benchNS).Create(ctx, newService(fmt.Sprintf("svc-%05d", i)), metav1.CreateOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("creating services: %w", err)
	}
	deadline := time.Now().Add(15 * time.Minute)
	for {
		got, err := b.withIPs(ctx)
		if err != nil {
			return err
		}
		if got == b.n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d Services got an IP within 15 minutes", got, b.n)
		}
		time.Sleep(2 * time.Second)
	}
	settle(c.cpu)
	return nil
}

// withIPs counts the bench's Services that show an IP.
func (b *bench) withIPs(ctx context.Context) (int, error) {
	got := 0
	opts := metav1.ListOptions{Limit: 1000}
	for {
		list, err := b.cs.CoreV1().Services(benchNS).List(ctx, opts)
		if err != nil {
			return 0, fmt.Errorf("listing services: %w", err)
		}
		for _, s := range list.Items {
			if len(s.Status.LoadBalancer.Ingress) > 0 {
				got++
			}
		}
		if list.Continue == "" {
			return got, nil
		}
		opts.Continue = list.Continue
	}
}

func newService(name string) *corev1.Service {
	no := false
	single := corev1.IPFamilyPolicySingleStack
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: name, Labels: map[string]string{"app": name}},
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

// controller is a running `herald controller`.
type controller struct {
	cmd     *exec.Cmd
	started time.Time
	metrics string // http://host:port/metrics
	readyz  string
}

// startController starts `herald controller`, with its pprof endpoints on
// pprofAddr when set.
func (b *bench) startController(pprofAddr string, extra []string) (*controller, error) {
	mport, err := freePort()
	if err != nil {
		return nil, err
	}
	hport, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"controller", "--kubeconfig", b.kubeconfig, "--namespace", heraldNS,
		"--metrics-addr", "127.0.0.1:" + mport, "--metrics-secure=false", "--health-addr", "127.0.0.1:" + hport,
		"--leader-elect-identity", "coldstart-bench", "--log-level", "error"}, extra...)
	if pprofAddr != "" {
		args = append(args, "--pprof-addr", pprofAddr)
	}
	cmd := exec.Command(b.bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	c := &controller{cmd: cmd, metrics: "http://127.0.0.1:" + mport + "/metrics", readyz: "http://127.0.0.1:" + hport + "/readyz"}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", b.bin, err)
	}
	return c, nil
}

func (c *controller) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	_ = c.cmd.Wait()
}

func (c *controller) cpu() time.Duration {
	t, _ := benchproc.CPUTime(c.cmd.Process.Pid)
	return t
}

// profileCPU takes a CPU profile of secs seconds from base's pprof
// endpoints as soon as they answer, into file.
func profileCPU(base string, secs int, file string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs))
		if err != nil {
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s/debug/pprof/profile: %s", base, resp.Status)
		}
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		return os.WriteFile(file, data, 0o644)
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// trial is one controller start.
type trial struct {
	ready, restored, reconciled time.Duration
	startRequests, startWrites  int
	steadyPerSec                float64
	rssKB, hwmKB                int64
	startCPU, steadyCPU         time.Duration
}

// trial starts a controller with extra arguments and measures it; with
// show, it prints the start's requests by verb and resource (and takes the
// -profile).
func (b *bench) trial(ctx context.Context, extra []string, show bool) (trial, error) {
	var t trial
	var pprofAddr string
	if show && b.profile != "" {
		port, err := freePort()
		if err != nil {
			return t, err
		}
		pprofAddr = "127.0.0.1:" + port
	}
	c, err := b.startController(pprofAddr, extra)
	if err != nil {
		return t, err
	}
	defer c.stop()
	profiled := make(chan error, 1)
	if pprofAddr != "" {
		go func() { profiled <- profileCPU("http://"+pprofAddr, b.profileSecs, b.profile) }()
	} else {
		profiled <- nil
	}
	defer func() {
		if err := <-profiled; err != nil {
			fmt.Fprintln(os.Stderr, "coldstart bench: profiling the controller:", err)
		}
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := c.started.Add(5 * time.Minute)
	scrapes := 0
	for t.reconciled == 0 {
		if time.Now().After(deadline) {
			return t, errors.New("the controller did not reconcile every Service within 5 minutes")
		}
		if c.cmd.ProcessState != nil {
			return t, errors.New("the controller exited")
		}
		now := time.Since(c.started)
		if t.ready == 0 {
			if resp, err := client.Get(c.readyz); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.ready = now
				}
			}
		}
		// /metrics only every 500 ms (restored and reconciled are that
		// coarse): each scrape costs the controller a pass over its
		// cache (the cluster collector, ~10 ms with 10,000 Services; at
		// 5 scrapes/s it was 15% of the start's CPU).
		if scrapes++; scrapes%50 != 1 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if m, err := scrape(client, c.metrics); err == nil {
			if t.restored == 0 && m["herald_allocator_restored_services"] >= float64(b.n) {
				t.restored = now
			}
			if t.ready > 0 && t.restored > 0 && m[`controller_runtime_reconcile_total{controller="service"}`] >= float64(b.n) &&
				m[`workqueue_depth{name="service"}`] == 0 {
				t.reconciled = now
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.startCPU = c.cpu()
	reconciledAt := c.started.Add(t.reconciled)
	time.Sleep(2 * time.Second)
	steadyFrom, cpu0 := time.Now(), c.cpu()
	time.Sleep(b.steady)
	steadyTo := time.Now()
	t.steadyCPU = c.cpu() - cpu0
	if t.rssKB, err = benchproc.Status(c.cmd.Process.Pid, "VmRSS:"); err != nil {
		return t, err
	}
	if t.hwmKB, err = benchproc.Status(c.cmd.Process.Pid, "VmHWM:"); err != nil {
		return t, err
	}
	reqs, err := auditRequests(b.auditLog)
	if err != nil {
		return t, err
	}
	byKind := map[string]int{}
	steady := 0
	for _, r := range reqs {
		switch {
		case !r.at.Before(c.started) && !r.at.After(reconciledAt):
			t.startRequests++
			if r.write() {
				t.startWrites++
			}
			byKind[r.kind()]++
		case !r.at.Before(steadyFrom) && r.at.Before(steadyTo):
			steady++
		}
	}
	t.steadyPerSec = float64(steady) / steadyTo.Sub(steadyFrom).Seconds()
	if show {
		printKinds(os.Stderr, byKind)
	}
	return t, nil
}

// scrape reads a Prometheus text endpoint into sums per metric name, and
// per name and label controller="..." or name="..." alone.
func scrape(client *http.Client, url string) (map[string]float64, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(line[:i], "{")
		out[name] += v
		for _, kv := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
			if strings.HasPrefix(kv, "controller=") || strings.HasPrefix(kv, "name=") {
				out[name+"{"+kv+"}"] += v
			}
		}
	}
	return out, sc.Err()
}

// request is one request of the controller, from the audit log.
type request struct {
	at                          time.Time
	verb, resource, subresource string
}

func (r request) write() bool {
	switch r.verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

func (r request) kind() string {
	k := r.verb + " " + r.resource
	if r.subresource != "" {
		k += "/" + r.subresource
	}
	return k
}

// auditRequests reads the controller's requests (by user agent) from the
// audit log: a watch when it starts, anything else when it completes.
func auditRequests(path string) ([]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer f.Close()
	var out []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), userAgent) {
			continue
		}
		var ev struct {
			Stage     string `json:"stage"`
			Verb      string `json:"verb"`
			UserAgent string `json:"userAgent"`
			ObjectRef *struct {
				Resource    string `json:"resource"`
				Subresource string `json:"subresource"`
			} `json:"objectRef"`
			Received metav1.MicroTime `json:"requestReceivedTimestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("parsing the audit log: %w", err)
		}
		if !strings.HasPrefix(ev.UserAgent, userAgent) {
			continue
		}
		if (ev.Verb == "watch") != (ev.Stage == "ResponseStarted") {
			continue
		}
		r := request{at: ev.Received.Time, verb: ev.Verb}
		if ev.ObjectRef != nil {
			r.resource, r.subresource = ev.ObjectRef.Resource, ev.ObjectRef.Subresource
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func printKinds(w io.Writer, by map[string]int) {
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return by[keys[i]] > by[keys[j]] || by[keys[i]] == by[keys[j]] && keys[i] < keys[j]
	})
	fmt.Fprintln(w, "requests from start to reconciled (last trial), verb resource:")
	for _, k := range keys {
		fmt.Fprintf(w, "  %7d  %s\n", by[k], k)
	}
}

func printTable(w io.Writer, n int, args string, rows []trial) {
	if args == "" {
		args = "(defaults)"
	}
	fmt.Fprintf(w, "herald controller cold start with %d allocated Services, controller args %s\n", n, args)
	fmt.Fprintf(w, "%-6s %9s %9s %11s %9s %7s %10s %9s %9s %9s %10s\n",
		"trial", "ready", "restored", "reconciled", "start req", "writes", "steady r/s", "RSS", "peak RSS", "start CPU", "steady CPU")
	mb := func(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)*1024/1e6) }
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	row := func(name string, t trial) {
		fmt.Fprintf(w, "%-6s %9s %9s %11s %9d %7d %10.2f %9s %9s %9s %10s\n", name, ms(t.ready), ms(t.restored), ms(t.reconciled),
			t.startRequests, t.startWrites, t.steadyPerSec, mb(t.rssKB), mb(t.hwmKB), ms(t.startCPU), ms(t.steadyCPU))
	}
	for i, t := range rows {
		row(strconv.Itoa(i+1), t)
	}
	if len(rows) == 0 {
		return
	}
	pick := func(q float64) trial {
		at := func(xs []float64) float64 {
			s := append([]float64(nil), xs...)
			sort.Float64s(s)
			return s[int(q*float64(len(s)-1))]
		}
		col := func(f func(trial) float64) float64 {
			xs := make([]float64, len(rows))
			for i, r := range rows {
				xs[i] = f(r)
			}
			return at(xs)
		}
		d := func(f func(trial) time.Duration) time.Duration {
			return time.Duration(col(func(t trial) float64 { return float64(f(t)) }))
		}
		return trial{
			ready:         d(func(t trial) time.Duration { return t.ready }),
			restored:      d(func(t trial) time.Duration { return t.restored }),
			reconciled:    d(func(t trial) time.Duration { return t.reconciled }),
			startRequests: int(col(func(t trial) float64 { return float64(t.startRequests) })),
			startWrites:   int(col(func(t trial) float64 { return float64(t.startWrites) })),
			steadyPerSec:  col(func(t trial) float64 { return t.steadyPerSec }),
			rssKB:         int64(col(func(t trial) float64 { return float64(t.rssKB) })),
			hwmKB:         int64(col(func(t trial) float64 { return float64(t.hwmKB) })),
			startCPU:      d(func(t trial) time.Duration { return t.startCPU }),
			steadyCPU:     d(func(t trial) time.Duration { return t.steadyCPU }),
		}
	}
	row("p50", pick(0.5))
	row("max", pick(1))
}
