package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/speaker"
	"github.com/heraldlb/herald/speaker/health"
	"github.com/heraldlb/herald/speaker/l2"
	"github.com/heraldlb/herald/speaker/l2/member"
	"github.com/heraldlb/herald/speaker/planner"
)

// speakerFlags are `herald speaker`'s flags.
type speakerFlags struct {
	node, namespace, lbClass string
	kubeconfig, agentSocket  string
	metricsAddr, healthAddr  string
	secure                   bool
	certDir, agentMetrics    string
	stateInterval            time.Duration
	routeMapDelay            time.Duration
	stageNeighbors           int
	logLevel                 string
	development              bool
	bgp, l2                  bool
	memberPort               int
	memberBind, memberSecret string
	exclude                  string
	gcPercent                int
	drainWait                time.Duration
	drainTaints              string
}

func parseSpeakerFlags(args []string) (speakerFlags, error) {
	var f speakerFlags
	fs := flag.NewFlagSet("herald speaker", flag.ContinueOnError)
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "herald-system"
	}
	fs.StringVar(&f.node, "node-name", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	fs.StringVar(&f.namespace, "namespace", ns, "herald's namespace, where its objects and the password Secrets live (default $POD_NAMESPACE, else herald-system)")
	fs.StringVar(&f.lbClass, "lb-class", "", "the spec.loadBalancerClass served; empty serves Services with no class")
	fs.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file; empty uses the in-cluster config")
	fs.StringVar(&f.agentSocket, "agent-socket", frragent.DefaultSocket, "unix socket of the frr-agent beside FRR (its --socket)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", ":7474", "address of the Prometheus /metrics endpoint; 0 disables it")
	fs.BoolVar(&f.secure, "metrics-secure", true, "serve /metrics over HTTPS to requests whose bearer token the API server authenticates and authorizes for GET on the path (TokenReview, SubjectAccessReview); false: plain HTTP to anyone who reaches --metrics-addr")
	fs.StringVar(&f.certDir, "metrics-cert-dir", "", "folder with tls.crt and tls.key for --metrics-secure; empty: a self-signed certificate made at start")
	fs.StringVar(&f.agentMetrics, "agent-metrics-url", "", "the frr-agent's metrics URL (its --metrics-address, on the node's loopback: http://127.0.0.1:7476/metrics), served again on "+AgentMetricsPath+" behind the same check as /metrics; empty: none")
	fs.StringVar(&f.healthAddr, "health-addr", "127.0.0.1:7475", "address of /healthz and /readyz (the speaker runs on the host network: the default answers on the node's loopback only, where the kubelet's probes reach it); 0 disables them")
	fs.DurationVar(&f.stateInterval, "state-interval", 5*time.Second, "how often FRR's sessions are read between applies")
	fs.DurationVar(&f.routeMapDelay, "route-map-delay", frrconfig.SpeakerRouteMapDelaySeconds*time.Second, "FRR's `bgp route-map delay-timer` in the configs applied, whole seconds up to 10m (0: FRR's default, 5s): how long bgpd holds its peers after loading a config, as after a bgpd restart, and how soon a changed community or local-pref reaches the peers; `kubectl herald diff` expects the default")
	fs.IntVar(&f.stageNeighbors, "stage-neighbors", frrconfig.DefaultStageNeighbors, "how many new BGP neighbors one FRR apply adds at most: more (hundreds of BGPPeers at once) are added in steps, each with every Service change made meanwhile, so that bgpd keeps up with Services and BFD; 0: all in one apply")
	fs.DurationVar(&f.drainWait, "drain-wait", speaker.DefaultDrainWait, "how long a draining node (cordoned, a --drain-taints taint, the exclude label, or this speaker stopping) announces its prefixes in BGP graceful shutdown (community 65535:0, LOCAL_PREF 0 to iBGP peers) for the routers to move off, before it withdraws them; 0: withdraw at once. The pod's terminationGracePeriodSeconds must cover it plus two applies")
	fs.StringVar(&f.drainTaints, "drain-taints", strings.Join(planner.DefaultDrainTaints(), ","), "comma-separated keys of the NoSchedule/NoExecute taints that make this node drain ("+planner.UnschedulableTaint+" stands for cordoning, spec.unschedulable); empty: none (the exclude label still drains)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info or error")
	fs.BoolVar(&f.development, "log-development", false, "human-readable logs instead of JSON")
	fs.BoolVar(&f.bgp, "bgp", true, "BGP mode: hand this node's FRR model to the frr-agent at --agent-socket (false: no FRR beside the speaker, Layer 2 only)")
	fs.BoolVar(&f.l2, "l2", true, "answer ARP and NDP for the IPs of L2Advertisements (Layer 2 mode)")
	fs.IntVar(&f.memberPort, "memberlist-port", 7946, "UDP and TCP port of the Layer 2 membership between speakers")
	fs.StringVar(&f.memberBind, "memberlist-bind-addr", "", "address the membership listens on; empty: this node's InternalIP")
	fs.StringVar(&f.memberSecret, "memberlist-secret", "herald-memberlist", "Secret in --namespace whose \"key\" (16, 24 or 32 bytes) encrypts the membership traffic; the speaker waits for it (herald controller creates it); empty: plain text")
	fs.StringVar(&f.exclude, "l2-exclude-interfaces", "", "comma-separated interface name patterns never answered on by default (empty: speaker/l2's defaults)")
	fs.IntVar(&f.gcPercent, "gc-percent", 25, "Go's GC target (GOGC) when the GOGC variable is unset: the heap may grow this many percent over the live data before a collection; 100 is Go's default. The speaker's live heap is small (15-20 MB at 1,000 Services), so collecting often costs little CPU and keeps it within a node agent's memory budget")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.node == "" {
		return f, errors.New("--node-name is empty: set it or NODE_NAME (the pod's spec.nodeName)")
	}
	if f.namespace == "" {
		return f, errors.New("--namespace is empty: set it or POD_NAMESPACE")
	}
	if !f.bgp && !f.l2 {
		return f, errors.New("--bgp=false and --l2=false: the speaker would announce nothing; turn one mode on")
	}
	if f.routeMapDelay < 0 || f.routeMapDelay > 10*time.Minute || f.routeMapDelay%time.Second != 0 {
		return f, fmt.Errorf("--route-map-delay=%s: give whole seconds from 0 (FRR's default) to 10m", f.routeMapDelay)
	}
	if f.stageNeighbors < 0 {
		return f, fmt.Errorf("--stage-neighbors=%d: give 0 (all in one apply) or more", f.stageNeighbors)
	}
	if f.drainWait < 0 || f.drainWait > 10*time.Minute {
		return f, fmt.Errorf("--drain-wait=%s: give 0 (withdraw at once) to 10m", f.drainWait)
	}
	if f.memberPort < 1 || f.memberPort > 65535 {
		return f, fmt.Errorf("--memberlist-port=%d: use a port 1-65535", f.memberPort)
	}
	return f, nil
}

func runSpeaker(ctx context.Context, args []string) error {
	f, err := parseSpeakerFlags(args)
	if err != nil {
		return err
	}
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level=%q: use debug, info or error", f.logLevel)
	}
	logger := zap.New(zap.UseDevMode(f.development), zap.Level(level)).WithValues("node", f.node)
	ctrl.SetLogger(logger)
	if f.gcPercent > 0 && os.Getenv("GOGC") == "" {
		// The speaker's live heap is small (its caches and one plan) and
		// its work comes in bursts (a plan, an apply, a NodeState write per
		// batch of changes): with Go's default the heap doubles over the
		// live data between collections, and the peak resident set of
		// every node's speaker with it. More frequent collections cost a
		// little CPU on a mostly idle process.
		debug.SetGCPercent(f.gcPercent)
	}

	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "herald-speaker"
	mopts := speaker.ManagerOptions(f.node, f.namespace)
	mopts.Logger = logger
	var extra map[string]http.Handler
	if f.agentMetrics != "" {
		h, err := agentMetricsProxy(f.agentMetrics)
		if err != nil {
			return err
		}
		extra = map[string]http.Handler{AgentMetricsPath: h}
	}
	mopts.Metrics = metricsOptions(f.metricsAddr, f.secure, f.certDir, extra)
	mopts.HealthProbeBindAddress = f.healthAddr
	// On SIGTERM the speaker drains before it exits (graceful shutdown
	// for --drain-wait, then a withdrawal, each apply bounded by 15s).
	grace := f.drainWait + 2*15*time.Second + 5*time.Second
	mopts.GracefulShutdownTimeout = &grace
	mgr, err := newManager(ctx, cfg, mopts, time.Second, logger)
	if err != nil {
		return err
	}
	m, err := speaker.NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}
	hm, err := health.NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}
	scfg := speaker.Config{
		Node: f.node, Namespace: f.namespace, LBClass: f.lbClass, Metrics: m, HealthMetrics: hm,
		Events:        mgr.GetEventRecorderFor("herald-speaker"),
		StateInterval: f.stateInterval, Log: logger.WithName("speaker"),
		RouteMapDelaySeconds: uint16(f.routeMapDelay / time.Second),
		StageNeighbors:       f.stageNeighbors,
		DrainWait:            f.drainWait, DrainTaints: []string{},
	}
	if f.drainWait == 0 {
		scfg.DrainWait = -1
	}
	if f.stageNeighbors == 0 {
		scfg.StageNeighbors = -1
	}
	for _, t := range strings.Split(f.drainTaints, ",") {
		if t = strings.TrimSpace(t); t != "" {
			scfg.DrainTaints = append(scfg.DrainTaints, t)
		}
	}
	// With BGP off there is no agent: nil, for both the speaker and its
	// readiness check.
	var agent *speaker.AgentClient
	if f.bgp {
		agent = speaker.NewAgentClient(f.agentSocket)
		scfg.Agent = agent
	}
	if f.l2 {
		node, err := newL2Node(ctx, mgr, f, logger.WithName("l2"))
		if err != nil {
			return err
		}
		scfg.L2 = node
		if err := mgr.Add(manager.RunnableFunc(node.Run)); err != nil {
			return fmt.Errorf("adding layer 2 mode: %w", err)
		}
	}
	spk, err := speaker.Setup(ctx, mgr, scfg)
	if err != nil {
		return err
	}
	if f.healthAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return fmt.Errorf("adding the health check: %w", err)
		}
		// Ready: the agent answers, FRR's daemons are up, the last apply
		// did not fail, and L2's raw sockets are open (speaker.Ready).
		var health speaker.HealthAgent
		if agent != nil {
			health = agent
		}
		if err := mgr.AddReadyzCheck("frr-and-l2", spk.ReadyCheck(health)); err != nil {
			return fmt.Errorf("adding the readiness check: %w", err)
		}
	}
	logger.Info("starting", "metricsAddr", f.metricsAddr, "metricsSecure", f.secure, "agentMetricsURL", f.agentMetrics, "healthAddr", f.healthAddr, "namespace", f.namespace, "lbClass", f.lbClass, "agentSocket", f.agentSocket, "bgp", f.bgp, "l2", f.l2)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

// newL2Node builds Layer 2 mode: membership with the other speakers (found
// through the Nodes' InternalIPs), its key from a Secret, and the
// responders.
func newL2Node(ctx context.Context, mgr manager.Manager, f speakerFlags, log logr.Logger) (*l2.Node, error) {
	api := mgr.GetAPIReader()
	var nodes corev1.NodeList
	if err := api.List(ctx, &nodes); err != nil {
		return nil, fmt.Errorf("listing nodes for layer 2 membership: %w", err)
	}
	mc := member.DefaultConfig()
	mc.Name = f.node
	mc.BindPort = f.memberPort
	mc.Log = log.WithName("member")
	for _, n := range nodes.Items {
		ip := internalIP(&n)
		if ip == "" {
			continue
		}
		mc.Peers = append(mc.Peers, member.Addr(net.ParseIP(ip), f.memberPort))
		if n.Name == f.node && f.memberBind == "" {
			mc.BindAddr = ip
		}
	}
	if f.memberBind != "" {
		mc.BindAddr = f.memberBind
	}
	if mc.BindAddr == "" {
		return nil, fmt.Errorf("layer 2 membership: node %s has no InternalIP to listen on: set --memberlist-bind-addr, or --l2=false", f.node)
	}
	if f.memberSecret == "" {
		log.Info("WARNING: --memberlist-secret is empty; speakers talk in plain text")
	} else {
		key, err := memberKey(ctx, api, f.namespace, f.memberSecret, log)
		if err != nil {
			return nil, err
		}
		mc.Keys = [][]byte{key}
	}
	reg, err := l2.NewMetrics(metrics.Registry)
	if err != nil {
		return nil, err
	}
	ac := l2.AnnouncerConfig{Metrics: reg, Log: log.WithName("announcer")}
	if f.exclude != "" {
		ac.Exclude = strings.Split(f.exclude, ",")
		if err := l2.ValidateExclude(ac.Exclude); err != nil {
			return nil, fmt.Errorf("--l2-exclude-interfaces: %w", err)
		}
	}
	node, err := l2.NewNode(l2.NodeConfig{Member: mc, Announcer: ac, AnsweredBefore: answeredBefore(ctx, api, log)})
	if err != nil {
		return nil, fmt.Errorf("setting up layer 2 mode: %w", err)
	}
	log.Info("layer 2 mode", "bind", mc.BindAddr+":"+strconv.Itoa(mc.BindPort), "peers", mc.Peers, "encrypted", len(mc.Keys) > 0)
	return node, nil
}

// answeredBefore lists the IPs the NodeStates say herald nodes answer for
// in Layer 2 mode — this node's from before its speaker restarted, the
// others' now —, which this node takes over without probing them. When
// they cannot be read, every IP this node starts with is probed.
func answeredBefore(ctx context.Context, api client.Reader, log logr.Logger) []netip.Addr {
	var states v1beta1.NodeStateList
	if err := api.List(ctx, &states); err != nil {
		log.Error(err, "listing the NodeStates: the IPs herald answered for before this start are probed before they are answered")
		return nil
	}
	ips := speaker.AnsweredIPs(states.Items)
	log.V(1).Info("IPs answered for before this start, taken over without probing", "ips", ips)
	return ips
}

// memberKey reads the membership key from the Secret, waiting for it
// while it does not exist: `herald controller` creates it at start-up, and
// a speaker talking in plain text to encrypted ones would never join them.
// The speaker is not ready meanwhile (its health server starts with the
// manager, after this).
func memberKey(ctx context.Context, api client.Reader, namespace, name string, log logr.Logger) ([]byte, error) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for logged := false; ; {
		var sec corev1.Secret
		err := api.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec)
		switch {
		case apierrors.IsNotFound(err):
			if !logged {
				log.Info("waiting for the membership Secret (herald controller creates it with a random key; or create it with 32 random bytes under \"key\", or pass --memberlist-secret= to talk in plain text)",
					"secret", namespace+"/"+name)
				logged = true
			}
		case err != nil:
			return nil, fmt.Errorf("getting the membership Secret %s/%s: %w", namespace, name, err)
		default:
			key := sec.Data["key"]
			if n := len(key); n != 16 && n != 24 && n != 32 {
				return nil, fmt.Errorf("secret %s/%s: key \"key\" holds %d bytes: put 16, 24 or 32 random bytes there", namespace, name, n)
			}
			return key, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the membership Secret %s/%s: %w", namespace, name, ctx.Err())
		case <-t.C:
		}
	}
}

// internalIP is a node's first IPv4 InternalIP, else its first InternalIP.
func internalIP(n *corev1.Node) string {
	first := ""
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
			return a.Address
		}
		if first == "" {
			first = a.Address
		}
	}
	return first
}
