package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/controllers/admission"
	"github.com/heraldlb/herald/internal/memlimit"
)

// controllerFlags are `herald controller`'s flags.
type controllerFlags struct {
	namespace    string
	lbClass      string
	kubeconfig   string
	metricsAddr  string
	secure       bool
	certDir      string
	healthAddr   string
	pprofAddr    string
	leaderElect  bool
	leaderID     string
	qps          float64
	burst        int
	workers      int
	eventQPS     float64
	eventBurst   int
	logLevel     string
	memLimitMiB  int64
	development  bool
	memberSecret string
	webhook      webhookFlags
}

// webhookFlags configure the admission webhook (controllers/admission).
type webhookFlags struct {
	addr, secret, config, service string
}

func parseControllerFlags(args []string) (controllerFlags, error) {
	var f controllerFlags
	fs := flag.NewFlagSet("herald controller", flag.ContinueOnError)
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "herald-system"
	}
	fs.StringVar(&f.namespace, "namespace", ns, "herald's namespace: its pools and its leader-election Lease live here (default $POD_NAMESPACE, else herald-system)")
	fs.StringVar(&f.lbClass, "lb-class", "", "the spec.loadBalancerClass this controller serves; empty serves Services with no class")
	fs.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file; empty uses the in-cluster config")
	fs.StringVar(&f.metricsAddr, "metrics-addr", ":7472", "address of the Prometheus /metrics endpoint; 0 disables it")
	fs.BoolVar(&f.secure, "metrics-secure", true, "serve /metrics over HTTPS to requests whose bearer token the API server authenticates and authorizes for GET /metrics (TokenReview, SubjectAccessReview); false: plain HTTP to anyone who reaches --metrics-addr")
	fs.StringVar(&f.certDir, "metrics-cert-dir", "", "folder with tls.crt and tls.key for --metrics-secure; empty: a self-signed certificate made at start")
	fs.StringVar(&f.healthAddr, "health-addr", ":7473", "address of /healthz and /readyz; 0 disables them")
	fs.StringVar(&f.pprofAddr, "pprof-addr", "", "address of Go's /debug/pprof endpoints (heap, CPU profiles); empty disables them")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "elect a leader among replicas with a Lease in --namespace; only the leader allocates")
	fs.StringVar(&f.leaderID, "leader-elect-identity", "", "this replica's identity in the leader-election Lease (default $POD_NAME, else the host name): keep it stable across restarts of the process in one pod, so that a restarted leader renews its own Lease at once instead of waiting for it to expire; never give two live replicas the same one")
	fs.Float64Var(&f.qps, "kube-api-qps", 300, "steady queries per second to the API server")
	fs.IntVar(&f.burst, "kube-api-burst", 600, "burst of queries to the API server")
	fs.IntVar(&f.workers, "workers", 16, "Services reconciled in parallel")
	fs.Float64Var(&f.eventQPS, "event-qps", 10, "Normal events (a Service's Allocated, for one) sent per second at most, beyond bursts of --event-burst; the rest are skipped, the Services' conditions still say it all, and herald_events_skipped_total counts them (0: no limit; Warning events are never limited)")
	fs.IntVar(&f.eventBurst, "event-burst", 100, "burst of Normal events sent before --event-qps applies")
	fs.Int64Var(&f.memLimitMiB, "gc-memory-limit", -1, "soft memory limit for Go's garbage collector, in MiB; -1: 75% of the container's memory limit (cgroup v2 memory.max or v1 memory.limit_in_bytes), none when it has none; 0: none; GOMEMLIMIT, when set, wins. The process's resident set adds ~44 MiB of mapped program code to it")
	fs.StringVar(&f.memberSecret, "memberlist-secret", "herald-memberlist", "Secret in --namespace created at start-up, unless it exists, with a random 32-byte \"key\" encrypting the speakers' Layer 2 membership (the speakers' --memberlist-secret); empty: none")
	fs.StringVar(&f.webhook.addr, "webhook-addr", "", "HTTPS address of the validating admission webhook, served by every replica (config/default: :9443); empty: no webhook")
	fs.StringVar(&f.webhook.secret, "webhook-secret", "herald-webhook-cert", "Secret in --namespace holding the webhook's CA and serving certificate, made and renewed by the controller")
	fs.StringVar(&f.webhook.config, "webhook-config", "herald-validating-webhook", "ValidatingWebhookConfiguration whose caBundle the controller keeps; empty: none patched")
	fs.StringVar(&f.webhook.service, "webhook-service", "herald-webhook", "Service in --namespace the API server reaches the webhook through: the serving certificate's names")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info or error")
	fs.BoolVar(&f.development, "log-development", false, "human-readable logs instead of JSON")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.namespace == "" {
		return f, fmt.Errorf("--namespace is empty: set it or POD_NAMESPACE")
	}
	if f.memLimitMiB < -1 {
		return f, fmt.Errorf("--gc-memory-limit=%d: give a number of MiB, 0 (none) or -1 (75%% of the container's memory limit)", f.memLimitMiB)
	}
	if f.workers < 1 {
		return f, fmt.Errorf("--workers=%d: give at least 1", f.workers)
	}
	if f.eventQPS < 0 {
		return f, fmt.Errorf("--event-qps=%g: give 0 (no limit) or more", f.eventQPS)
	}
	if f.eventQPS > 0 && f.eventBurst < 1 {
		return f, fmt.Errorf("--event-burst=%d: give at least 1 when --event-qps limits events", f.eventBurst)
	}
	return f, nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no --kubeconfig and not in a cluster: %w", err)
	}
	return cfg, nil
}

func runController(ctx context.Context, args []string) error {
	f, err := parseControllerFlags(args)
	if err != nil {
		return err
	}
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level=%q: use debug, info or error", f.logLevel)
	}
	logger := zap.New(zap.UseDevMode(f.development), zap.Level(level))
	ctrl.SetLogger(logger)
	setGCMemoryLimit(f.memLimitMiB, logger)

	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS = float32(f.qps)
	cfg.Burst = f.burst
	cfg.UserAgent = "herald-controller"

	opts := controllers.Options{
		Namespace:      f.namespace,
		LBClass:        f.lbClass,
		ServiceWorkers: f.workers,
		EventQPS:       f.eventQPS,
		EventBurst:     f.eventBurst,
	}
	mopts := controllers.ManagerOptions(opts)
	mopts.Logger = logger
	mopts.Metrics = metricsOptions(f.metricsAddr, f.secure, f.certDir, nil)
	mopts.HealthProbeBindAddress = f.healthAddr
	mopts.PprofBindAddress = f.pprofAddr
	mopts.LeaderElection = f.leaderElect
	mopts.LeaderElectionID = controllers.LeaseName
	mopts.LeaderElectionNamespace = f.namespace
	// A clean stop (SIGTERM) gives the Lease up, so the standby leads at
	// once; the process ends right after the manager, as this needs.
	mopts.LeaderElectionReleaseOnCancel = true
	lease, renew, retry := 15*time.Second, 10*time.Second, 2*time.Second
	mopts.LeaseDuration, mopts.RenewDeadline, mopts.RetryPeriod = &lease, &renew, &retry
	if f.leaderElect {
		id, err := controllers.LeaderIdentity(f.leaderID)
		if err != nil {
			return err
		}
		lock, stopEvents, err := controllers.LeaseLock(cfg, f.namespace, id, renew)
		if err != nil {
			return err
		}
		defer stopEvents()
		mopts.LeaderElectionResourceLockInterface = lock
		logger.Info("leader election", "lease", f.namespace+"/"+controllers.LeaseName, "identity", id)
	}

	mgr, err := newManager(ctx, cfg, mopts, time.Second, logger)
	if err != nil {
		return err
	}
	if err := controllers.Setup(mgr, opts, metrics.Registry); err != nil {
		return err
	}
	if f.memberSecret != "" {
		// Every replica, leader or not: the speakers wait for the Secret.
		ensure := func(ctx context.Context) error {
			return controllers.EnsureMemberlistSecret(ctx, mgr.GetClient(), mgr.GetAPIReader(), f.namespace, f.memberSecret, logger.WithName("memberlist"))
		}
		if err := mgr.Add(nonLeaderRunnable(ensure)); err != nil {
			return fmt.Errorf("adding the membership Secret's creation: %w", err)
		}
	}
	if f.webhook.addr != "" {
		svc := f.webhook.service + "." + f.namespace
		srv, err := admission.NewServer(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetClient(), admission.Options{
			Addr: f.webhook.addr, Namespace: f.namespace, LBClass: f.lbClass, SecretName: f.webhook.secret,
			ConfigName: f.webhook.config, Hosts: []string{svc + ".svc", svc + ".svc.cluster.local", svc, f.webhook.service},
			Log: logger.WithName("webhook"),
		})
		if err != nil {
			return err
		}
		if err := mgr.Add(srv); err != nil {
			return fmt.Errorf("adding the admission webhook: %w", err)
		}
	}
	if f.healthAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return fmt.Errorf("adding the health check: %w", err)
		}
		// Ready: the leader's caches synced, or a standby that knows the
		// leader (controllers.Ready).
		if err := mgr.AddReadyzCheck("caches-and-leader", controllers.ReadyCheck(mgr, f.leaderElect, f.namespace, mopts.LeaderElectionID)); err != nil {
			return fmt.Errorf("adding the readiness check: %w", err)
		}
	}
	logger.Info("starting", "memberlistSecret", f.memberSecret, "webhookAddr", f.webhook.addr, "namespace", f.namespace, "lbClass", f.lbClass, "leaderElect", f.leaderElect,
		"metricsAddr", f.metricsAddr, "metricsSecure", f.secure, "healthAddr", f.healthAddr, "qps", f.qps, "burst", f.burst, "workers", f.workers, "eventQPS", f.eventQPS, "eventBurst", f.eventBurst)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

// setGCMemoryLimit sets the garbage collector's soft memory limit as
// memlimit.GCLimit decides from --gc-memory-limit (flagMiB), GOMEMLIMIT and
// the cgroup's memory limit, and logs it and where it came from.
//
// A soft limit makes the collector run more often near it, which keeps the
// resident set under the container's limit when thousands of Services
// arrive at once; the process is never stopped for exceeding it. It must sit
// above the live heap, or the collector runs without pause: 48 MiB, the
// former fixed default, is below the live heap at 10,000 Services, and
// start to all reconciled took 24-63 s instead of 4-10 s
// (e2e/bench/coldstart). Hence a share of the container's limit, which
// operators size to their number of Services.
func setGCMemoryLimit(flagMiB int64, log logr.Logger) {
	var cg memlimit.Limit
	if flagMiB < 0 && os.Getenv("GOMEMLIMIT") == "" {
		var err error
		if cg, err = memlimit.Cgroup("/"); err != nil {
			// Not fatal: the process runs as well without a soft limit.
			log.Error(err, "finding the container's memory limit; no GC memory limit")
		}
	}
	d := memlimit.GCLimit(flagMiB, os.Getenv("GOMEMLIMIT"), cg)
	if d.Bytes > 0 {
		debug.SetMemoryLimit(d.Bytes)
	}
	limit := "none"
	if cur := debug.SetMemoryLimit(-1); cur != math.MaxInt64 {
		limit = fmt.Sprintf("%dMiB", cur>>20)
	}
	kv := []any{"limit", limit, "source", d.Source}
	if d.Source == memlimit.SourceCgroup || d.Source == memlimit.SourceNone {
		kv = append(kv, "cgroupLimitBytes", cg.Bytes, "cgroupFile", cg.File, "cgroupVersion", cg.Version)
	}
	log.Info("GC memory limit", kv...)
}

// nonLeaderRunnable runs f in every replica, leader or not, until it
// succeeds: a failure (the API server unreachable at start-up) is logged and
// f tried again after a backoff (1 s doubling to 30 s). Returning the error
// would stop the manager, and a controller started while the API server is
// away would exit again and again, its restarts backed off further each
// time (the lab's supervisor and the kubelet alike): e2e/reliability's
// TestFaults saw it lead 80 s after the API server's return.
type nonLeaderRunnable func(ctx context.Context) error

// Start implements manager.Runnable.
func (r nonLeaderRunnable) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx)
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := r(ctx)
		if err == nil {
			return nil
		}
		log.Error(err, "start-up step failed; retrying", "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (r nonLeaderRunnable) NeedLeaderElection() bool { return false }
