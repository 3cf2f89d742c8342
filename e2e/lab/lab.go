package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/heraldlb/herald/internal/frrproc"
)

// Options configure a lab. The zero value is a three-node lab in
// DefaultDir using the binaries of the module's bin/ folder.
type Options struct {
	// Dir holds the state, certificates, kubeconfig, etcd data and logs;
	// empty means DefaultDir.
	Dir string
	// Nodes is the number of nodes; zero means 3.
	Nodes int
	// HeraldBin is the herald binary whose controller, speaker and
	// frr-agent the lab runs; empty means $HERALD_BIN, else bin/herald in
	// the module holding the working directory.
	HeraldBin string
	// ControlPlaneDir holds etcd and kube-apiserver; empty means
	// $KUBEBUILDER_ASSETS, else the module's bin/.
	ControlPlaneDir string
	// CRDDir holds the CRD YAML files installed at start; empty means the
	// module's config/crd (no files: no CRDs).
	CRDDir string
	// Owner records who makes the lab (CLIOwner for `herald lab up`; a
	// tool keeping its lab up for people should set its name), so that
	// tests use it as it is or leave it alone; empty means a lab for one
	// test process. An Up on a lab that is up keeps its owner.
	Owner string
	// NoHerald starts none of herald's components: the lab alone, for
	// tests of the lab itself.
	NoHerald bool
	// Log receives progress; the zero logger discards it.
	Log logr.Logger
}

// withDefaults fills the empty fields of o.
func (o Options) withDefaults() Options {
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	root := moduleRoot()
	if o.HeraldBin == "" {
		o.HeraldBin = os.Getenv("HERALD_BIN")
	}
	if o.HeraldBin == "" {
		o.HeraldBin = filepath.Join(root, "bin", "herald")
	}
	if o.ControlPlaneDir == "" {
		o.ControlPlaneDir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if o.ControlPlaneDir == "" {
		o.ControlPlaneDir = filepath.Join(root, "bin")
	}
	if o.CRDDir == "" {
		o.CRDDir = filepath.Join(root, "config", "crd")
	}
	o.Dir = filepath.Clean(o.Dir)
	return o
}

// moduleRoot returns the folder above the working directory holding
// herald's go.mod, or the working directory.
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/heraldlb/herald\n") {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
}

// Lab is a running lab. A Lab from Up holds the machine's lab lock until
// Down or Close; one from Open holds nothing. Its methods are safe for
// concurrent use.
type Lab struct {
	opts Options
	plan Plan
	lock *lock // nil unless from Up

	cfg        *rest.Config
	client     kubernetes.Interface
	components []Component

	mu    sync.Mutex
	state *State
	pods  map[string]*Pod
	down  bool // Down succeeded: later calls do nothing
}

// Up brings the lab up, or completes and keeps the one that is up, and
// returns when every part is ready: namespaces and links, etcd and the API
// server, CRDs, Nodes, the router's and nodes' FRR, and whichever of
// herald's controller, frr-agent and speaker the binary has (Components
// says which are missing). It waits for the machine's lab lock while
// another process holds it.
func Up(ctx context.Context, opts Options) (*Lab, error) {
	opts = opts.withDefaults()
	plan, err := NewPlan(opts.Nodes)
	if err != nil {
		return nil, err
	}
	lk, err := acquireLock(ctx, LockPath, opts.Log)
	if err != nil {
		return nil, err
	}
	l := &Lab{opts: opts, plan: plan, lock: lk, pods: map[string]*Pod{}}
	if err := l.up(ctx); err != nil {
		lk.release(false)
		return nil, fmt.Errorf("lab up (logs in %s; `herald lab down` cleans up): %w", opts.Dir, err)
	}
	return l, nil
}

func (l *Lab) up(ctx context.Context) error {
	log := l.opts.Log
	if err := os.MkdirAll(l.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", l.opts.Dir, err)
	}
	st, err := readState(l.opts.Dir)
	switch {
	case err == nil && st.Nodes != l.opts.Nodes:
		log.Info("lab has another node count: rebuilding", "had", st.Nodes, "want", l.opts.Nodes)
		if err := teardown(ctx, l.opts, st); err != nil {
			return err
		}
		st = nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return err
	}
	if st == nil || !topologyUp(ctx, l.plan) {
		if st == nil {
			st = &State{}
		}
		// A half-made or crashed lab: start from nothing.
		if err := teardown(ctx, l.opts, st); err != nil {
			return err
		}
		if err := os.MkdirAll(l.opts.Dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", l.opts.Dir, err)
		}
		st = &State{Nodes: l.opts.Nodes, Procs: map[string]Proc{}}
		log.Info("building namespaces and links")
		start := time.Now()
		err := buildTopology(ctx, l.plan, func(ns, link string) {
			if ns != "" {
				st.Namespaces = append(st.Namespaces, ns)
			}
			if link != "" {
				st.Links = append(st.Links, link)
			}
			_ = writeState(l.opts.Dir, st)
		})
		if err != nil {
			return err
		}
		log.Info("namespaces and links up", "took", time.Since(start).Round(time.Millisecond))
	}
	st.HeraldBin = l.opts.HeraldBin
	if st.Owner == "" {
		st.Owner = l.opts.Owner
	}
	l.state = st
	if err := writeState(l.opts.Dir, st); err != nil {
		return err
	}
	if err := l.controlPlane(ctx); err != nil {
		return err
	}
	if err := l.frr(ctx); err != nil {
		return err
	}
	if err := l.otherRouters(ctx); err != nil {
		return err
	}
	if l.opts.NoHerald {
		return nil
	}
	return l.herald(ctx)
}

// keepOrStart keeps the tracked process name when it runs args, else
// (re)starts it.
func (l *Lab) keepOrStart(name, netns string, env []string, args []string) (Proc, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.state.Procs[name]; ok && procAlive(p) {
		if slices.Equal(p.Args, args) {
			return p, false, nil
		}
		_ = killAll(context.Background(), 5*time.Second, func() []int { return livePIDs([]int{p.PID}) })
	} else if pid := runningWith(labEnv(l.opts.Dir), args); pid > 0 {
		// Someone restarted the component by hand or from a test (same
		// command line and environment): adopt it rather than start a
		// second copy that cannot bind the first one's ports.
		p := Proc{Name: name, PID: pid, Netns: netns, Args: args, Log: p.Log}
		l.state.Procs[name] = p
		return p, false, writeState(l.opts.Dir, l.state)
	}
	env = append(env, labEnv(l.opts.Dir))
	logPath := filepath.Join(l.opts.Dir, "logs", strings.ReplaceAll(name, "/", "-")+".log")
	p, err := startProc(name, netns, env, logPath, args...)
	if err != nil {
		return Proc{}, false, err
	}
	l.state.Procs[name] = p
	return p, true, writeState(l.opts.Dir, l.state)
}

// controlPlane starts etcd and the API server, writes the kubeconfig, and
// installs the namespace, CRDs and Nodes.
func (l *Lab) controlPlane(ctx context.Context) error {
	log := l.opts.Log
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(l.opts.ControlPlaneDir, b)); err != nil {
			return fmt.Errorf("the control plane: %w (run `make control-plane` or set Options.ControlPlaneDir / KUBEBUILDER_ASSETS)", err)
		}
	}
	keys := pki{dir: filepath.Join(l.opts.Dir, "pki")}
	if err := keys.ensure(); err != nil {
		return err
	}
	if err := writeKubeconfig(l.Kubeconfig(), keys); err != nil {
		return err
	}
	start := time.Now()
	// A killed etcd or API server may hold its port a while after the kill.
	for _, port := range []string{"2379", "2380", strconv.Itoa(APIServerPort)} {
		if err := waitPortFree(ctx, net.JoinHostPort(MgmtAddr.String(), port), l.state.Procs); err != nil {
			return err
		}
	}
	etcd, _, err := l.keepOrStart("etcd", "", nil, etcdArgs(filepath.Join(l.opts.ControlPlaneDir, "etcd"), l.opts.Dir))
	if err != nil {
		return err
	}
	api, _, err := l.keepOrStart("kube-apiserver", "", nil, apiServerArgs(filepath.Join(l.opts.ControlPlaneDir, "kube-apiserver"), keys))
	if err != nil {
		return err
	}
	if l.cfg, err = restConfig(l.Kubeconfig()); err != nil {
		return err
	}
	if l.client, err = kubernetes.NewForConfig(l.cfg); err != nil {
		return fmt.Errorf("a client for the lab API server: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := waitAPIServer(waitCtx, l.client, func() error {
		return errors.Join(aliveCheck(etcd)(), aliveCheck(api)())
	}); err != nil {
		return err
	}
	log.Info("API server ready", "url", APIServerURL(), "took", time.Since(start).Round(time.Millisecond))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: HeraldNamespace}}
	if _, err := l.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", HeraldNamespace, err)
	}
	if err := ensureMemberlistSecret(ctx, l.client); err != nil {
		return err
	}
	crds, err := installCRDs(waitCtx, l.cfg, l.opts.CRDDir)
	if err != nil {
		return err
	}
	log.Info("CRDs installed", "dir", l.opts.CRDDir, "count", len(crds))
	return ensureNodes(ctx, l.client, l.plan)
}

// waitPortFree waits up to 15 seconds until addr can be bound, unless one
// of the lab's live processes holds it (then Up keeps that process).
func waitPortFree(ctx context.Context, addr string, procs map[string]Proc) error {
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if p, ok := procs[name]; ok && procAlive(p) {
			return nil
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %s is taken by a process the lab does not track (`ss -ltnp` names it): %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for port %s: %w", addr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// frrAlive reports whether FRR pathspace name has every daemon answering.
func frrAlive(name string) bool {
	for _, d := range frrproc.DefaultDaemons() {
		if _, err := os.Stat(filepath.Join(frrproc.RunDir(name), d+".vty")); err != nil {
			return false
		}
		if !pidFileAlive(filepath.Join(frrproc.RunDir(name), d+".pid")) {
			return false
		}
	}
	return true
}

func pidFileAlive(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d", &pid); err != nil {
		return false
	}
	return !zombie(pid)
}

// frr starts (in parallel) the router's and each node's FRR that is not
// running.
func (l *Lab) frr(ctx context.Context) error {
	type inst struct{ name, config string }
	insts := []inst{{l.plan.Router, l.plan.RouterConfig()}}
	for _, n := range l.plan.Nodes {
		insts = append(insts, inst{n.Netns, n.NodeConfig()})
	}
	start := time.Now()
	errs := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, in := range insts {
		if frrAlive(in.name) {
			continue
		}
		l.mu.Lock()
		if !slices.Contains(l.state.FRR, in.name) {
			l.state.FRR = append(l.state.FRR, in.name)
		}
		err := writeState(l.opts.Dir, l.state)
		l.mu.Unlock()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := frrproc.Cleanup(ctx, in.name); err != nil {
				errs[i] = err
				return
			}
			// The instance outlives this process: its watchfrr is found
			// again by pathspace, so the handle is not kept.
			_, errs[i] = frrproc.Start(ctx, frrproc.Options{
				Name: in.name, Netns: in.name, Config: in.config, Log: l.opts.Log,
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.opts.Log.Info("FRR running", "instances", len(insts), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// herald starts whichever of herald's components the binary has.
func (l *Lab) herald(ctx context.Context) error {
	log := l.opts.Log
	bin := l.opts.HeraldBin
	l.components = nil
	byName := map[string]Component{}
	for _, c := range []string{FRRAgent, Speaker, Controller} {
		comp := probeComponent(ctx, bin, c)
		byName[c] = comp
		l.components = append(l.components, comp)
		if !comp.Built {
			log.Info("herald component missing: not started", "component", c, "why", comp.Missing)
		}
	}
	kc := l.Kubeconfig()
	// Each component runs under `herald lab supervise` (when bin has it),
	// which restarts it with the kubelet's backoff when it dies, as a
	// pod's container would be.
	wrap := func(name string, args []string) []string { return args }
	if strings.Contains(probeComponent(ctx, bin, "lab").help, "supervise") {
		if err := os.MkdirAll(filepath.Join(l.opts.Dir, "supervise"), 0o755); err != nil {
			return err
		}
		wrap = func(name string, args []string) []string { return supervised(bin, l.opts.Dir, name, args) }
	}
	var started []Proc
	if c := byName[FRRAgent]; c.Built {
		for _, n := range l.plan.Nodes {
			if err := os.MkdirAll(filepath.Join(l.opts.Dir, n.Name), 0o755); err != nil {
				return err
			}
			p, fresh, err := l.keepOrStart(FRRAgent+"/"+n.Name, n.Netns, componentEnv(kc, n.Name, n.Netns), wrap(FRRAgent+"/"+n.Name, agentArgs(bin, l.opts.Dir, c, n)))
			if err != nil {
				return err
			}
			if fresh {
				started = append(started, p)
			}
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = waitSocket(wctx, agentSocket(l.opts.Dir, n), aliveCheck(p))
			cancel()
			if err != nil {
				return err
			}
		}
	}
	if c := byName[Speaker]; c.Built {
		for _, n := range l.plan.Nodes {
			p, fresh, err := l.keepOrStart(Speaker+"/"+n.Name, n.Netns, componentEnv(kc, n.Name, n.Netns), wrap(Speaker+"/"+n.Name, speakerArgs(bin, l.opts.Dir, kc, c, n)))
			if err != nil {
				return err
			}
			if fresh {
				started = append(started, p)
			}
		}
	}
	if c := byName[Controller]; c.Built {
		p, fresh, err := l.keepOrStart(Controller, "", componentEnv(kc, "", ""), wrap(Controller, controllerArgs(bin, kc, c)))
		if err != nil {
			return err
		}
		if fresh {
			started = append(started, p)
		}
	}
	// A component that cannot start (a bad flag, no API access) exits at
	// once; one serving /readyz is waited for.
	for _, p := range started {
		c, host := byName[Controller], MgmtAddr.String()
		if p.Netns != "" {
			c = byName[Speaker]
			n, _ := l.plan.Node(strings.TrimPrefix(p.Name, Speaker+"/"))
			host = n.Mgmt.String()
		}
		if strings.HasPrefix(p.Name, FRRAgent) || !c.declares("health-addr") {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := waitReadyz(wctx, healthAddr(host), aliveCheck(p))
		cancel()
		if err != nil {
			return fmt.Errorf("%s not ready: %w", p.Name, err)
		}
	}
	if len(started) > 0 {
		if err := settle(ctx, 1500*time.Millisecond, func() error {
			var errs []error
			for _, p := range started {
				errs = append(errs, aliveCheck(p)())
			}
			return errors.Join(errs...)
		}); err != nil {
			return err
		}
	}
	return nil
}

// CLIOwner is the Options.Owner of a lab made by `herald lab up`.
const CLIOwner = "herald lab up"

// Existing returns the state of the lab that is up in opts.Dir (its API
// server runs), and false when none is.
func Existing(opts Options) (*State, bool) {
	opts = opts.withDefaults()
	st, err := readState(opts.Dir)
	if err != nil {
		return nil, false
	}
	p, ok := st.Procs["kube-apiserver"]
	return st, ok && procAlive(p)
}

// Open returns a handle on the lab that is up, for commands that use it
// without changing it (status, vtysh, exec, pods). It takes no lock.
func Open(opts Options) (*Lab, error) {
	bin := opts.HeraldBin
	opts = opts.withDefaults()
	st, err := readState(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("no lab in %s (run `herald lab up`): %w", opts.Dir, err)
	}
	if bin == "" && st.HeraldBin != "" {
		opts.HeraldBin = st.HeraldBin
	}
	opts.Nodes = st.Nodes
	plan, err := NewPlan(st.Nodes)
	if err != nil {
		return nil, err
	}
	l := &Lab{opts: opts, plan: plan, state: st, pods: map[string]*Pod{}}
	for _, c := range []string{FRRAgent, Speaker, Controller} {
		comp := probeComponent(context.Background(), opts.HeraldBin, c)
		running := false
		for name, p := range st.Procs {
			if (name == c || strings.HasPrefix(name, c+"/")) && procAlive(p) {
				running = true
			}
		}
		if comp.Built && !running {
			comp.Built, comp.Missing = false, "built but not running in this lab (run `herald lab up` again)"
		}
		l.components = append(l.components, comp)
	}
	if l.cfg, err = restConfig(l.Kubeconfig()); err != nil {
		return nil, err
	}
	if l.client, err = kubernetes.NewForConfig(l.cfg); err != nil {
		return nil, fmt.Errorf("a client for the lab API server: %w", err)
	}
	return l, nil
}

// Close stops this process's pods and releases the lab lock (when held),
// leaving the lab up for the next Up or Open (unless Teardown removed it).
func (l *Lab) Close() {
	l.stopPods(context.Background())
	l.mu.Lock()
	down, lk := l.down, l.lock
	l.lock = nil
	l.mu.Unlock()
	lk.release(down)
}

// Down takes the lab down (Teardown) and releases the lock (Close). Once it
// succeeded, further calls do nothing.
func (l *Lab) Down(ctx context.Context) error {
	if err := l.Teardown(ctx); err != nil {
		return err
	}
	l.Close()
	return nil
}

// Teardown stops this process's pods and removes every namespace, link,
// process and file of the lab — those its state file records and any other
// carrying the lab's prefix or started by it — but keeps the lab lock until
// Close, so the caller can look at the clean machine before another lab
// starts. It needs the lock: a Lab from Open or after Close cannot tear
// down (use Destroy). Once it succeeded, further calls do nothing.
func (l *Lab) Teardown(ctx context.Context) error {
	l.mu.Lock()
	done, held := l.down, l.lock != nil
	l.mu.Unlock()
	if done {
		return nil
	}
	if !held {
		return errors.New("lab teardown: this Lab does not hold the lab lock (it came from Open or was closed): use Destroy")
	}
	l.stopPods(ctx)
	// The state on disk, not this process's copy: another Up may have
	// changed it, or a crash test removed it.
	st, err := readState(l.opts.Dir)
	if err != nil {
		st = &State{}
	}
	if err := teardown(ctx, l.opts, st); err != nil {
		return err
	}
	l.mu.Lock()
	l.down = true
	l.mu.Unlock()
	return nil
}

// Destroy takes the lab lock and removes every namespace, link, process and
// file of the lab — those its state file records and any other carrying
// the lab's prefix or naming its folder, so it also cleans up after a crash.
func Destroy(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	lk, err := acquireLock(ctx, LockPath, opts.Log)
	if err != nil {
		return err
	}
	st, err := readState(opts.Dir)
	if err != nil {
		st = &State{}
	}
	err = teardown(ctx, opts, st)
	lk.release(err == nil)
	return err
}

// teardown ends the lab's processes, FRR instances, namespaces and links
// and removes its folder.
func teardown(ctx context.Context, opts Options, st *State) error {
	var errs []error
	// etcd last: the API server stops slowly without it.
	labPIDs := func(etcd bool) func() []int {
		return func() []int {
			var pids []int
			for _, p := range st.Procs {
				if procAlive(p) && (p.Name == "etcd") == etcd {
					pids = append(pids, p.PID)
				}
			}
			for _, pid := range pidsOfLab(opts.Dir) {
				if isEtcd(pid) == etcd {
					pids = append(pids, pid)
				}
			}
			return pids
		}
	}
	// herald's components and the control plane before FRR: a speaker
	// withdraws its routes through FRR on SIGTERM. Supervisors first: each
	// passes one SIGTERM on to its component and waits for it (a second
	// SIGTERM would cut the component's clean exit short), restarting
	// nothing.
	start := time.Now()
	errs = append(errs, killAll(ctx, 20*time.Second, func() []int {
		var pids []int
		for _, p := range st.Procs {
			if isSupervisor(p) && procAlive(p) {
				pids = append(pids, p.PID)
			}
		}
		return pids
	}))
	errs = append(errs, killAll(ctx, 10*time.Second, labPIDs(false)), killAll(ctx, 10*time.Second, labPIDs(true)))
	opts.Log.Info("processes ended", "took", time.Since(start).Round(time.Millisecond))
	names := append(slices.Clone(st.FRR), frrLeftovers()...)
	slices.Sort(names)
	names = slices.Compact(names)
	frrErrs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			frrErrs[i] = frrproc.Cleanup(ctx, name)
		}()
	}
	wg.Wait()
	errs = append(errs, frrErrs...)
	opts.Log.Info("FRR ended", "instances", len(names), "took", time.Since(start).Round(time.Millisecond))
	namespaces := slices.Clone(st.Namespaces)
	if found, err := listNetns(ctx, Prefix); err == nil {
		namespaces = append(namespaces, found...)
	}
	errs = append(errs, killAll(ctx, 5*time.Second, func() []int {
		var pids []int
		for _, ns := range namespaces {
			pids = append(pids, livePIDs(netnsPIDs(ctx, ns))...)
		}
		return pids
	}))
	errs = append(errs, deleteTopology(ctx, namespaces, st.Links))
	opts.Log.Info("namespaces and links deleted", "took", time.Since(start).Round(time.Millisecond))
	if err := os.RemoveAll(opts.Dir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", opts.Dir, err))
	}
	return errors.Join(errs...)
}

// frrLeftovers returns FRR pathspaces with the lab's prefix that have files.
func frrLeftovers() []string {
	var names []string
	for _, root := range []string{filepath.Dir(frrproc.RunDir("x")), filepath.Dir(frrproc.ConfDir("x"))} {
		dirs, _ := filepath.Glob(filepath.Join(root, Prefix+"*"))
		for _, d := range dirs {
			names = append(names, filepath.Base(d))
		}
	}
	return names
}

// labEnv marks every process the lab starts (and their children), so that
// Destroy finds them without the state file.
func labEnv(dir string) string { return "HERALD_LAB_DIR=" + dir }

// pidsOfLab returns the processes, other than this one, the lab in dir
// started.
func pidsOfLab(dir string) []int { return pidsWithEnv(labEnv(dir)) }

// isEtcd reports whether pid runs etcd.
func isEtcd(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	arg0, _, _ := strings.Cut(string(b), "\x00")
	return filepath.Base(arg0) == "etcd"
}

// Plan returns the lab's layout.
func (l *Lab) Plan() Plan { return l.plan }

// Dir returns the lab's folder.
func (l *Lab) Dir() string { return l.opts.Dir }

// Kubeconfig returns the path of the lab's admin kubeconfig.
func (l *Lab) Kubeconfig() string { return filepath.Join(l.opts.Dir, "kubeconfig") }

// RESTConfig returns a client config for the lab's API server.
func (l *Lab) RESTConfig() *rest.Config { return rest.CopyConfig(l.cfg) }

// Client returns a clientset for the lab's API server.
func (l *Lab) Client() kubernetes.Interface { return l.client }

// Components says which of herald's components Up found built and started
// (empty for a Lab from Open).
func (l *Lab) Components() []Component { return slices.Clone(l.components) }

// Procs returns the processes the lab tracks, by component name.
func (l *Lab) Procs() map[string]Proc {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Proc, len(l.state.Procs))
	for k, v := range l.state.Procs {
		out[k] = v
	}
	return out
}
