package l2lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/heraldlb/herald/speaker/l2"
	"github.com/heraldlb/herald/speaker/l2/member"
	"github.com/prometheus/client_golang/prometheus"
)

// NodeEnv holds a node's NodeSpec (JSON) in a node process's environment.
const NodeEnv = "HERALD_L2LAB_NODE"

// MemberPort is the memberlist port of every node.
const MemberPort = 7946

// Key returns the memberlist key of lab nodes (the lab is not a secret).
func Key() []byte { return []byte("herald-l2lab-key-0123456789abcde") }

// NodeSpec is what a node process runs.
type NodeSpec struct {
	Name     string
	Addr     string
	Peers    []string
	Services []l2.Service
	// Verbosity of the node's log on stderr.
	Verbosity int
	// Nice, when set, runs the node under nice(1) at this niceness (a
	// negative value stands for the CPU share a Kubernetes CPU request
	// gives a speaker over best-effort load).
	Nice int `json:"-"`
	// Timers, when set, replace member.DefaultConfig's.
	ProbeInterval, ProbeTimeout                                    time.Duration
	SuspicionMult, SuspicionMaxTimeoutMult, AwarenessMaxMultiplier int
	// Silence, when set, replaces member.DefaultConfig's (a negative value
	// stands for 0: a node declared dead stops counting at once).
	Silence time.Duration
}

// NodeSpecs returns the specs of every node of l, all eligible for every IP.
func (l *Lab) NodeSpecs(ips ...string) ([]NodeSpec, error) {
	var names, peers []string
	for _, h := range l.Nodes {
		names = append(names, h.Name)
		peers = append(peers, fmt.Sprintf("%s:%d", h.IPv4, MemberPort))
	}
	var svcs []l2.Service
	for _, s := range ips {
		var svc l2.Service
		if err := svc.IP.UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("l2lab: service IP %q: %w", s, err)
		}
		svc.Nodes = names
		svcs = append(svcs, svc)
	}
	var specs []NodeSpec
	for _, h := range l.Nodes {
		specs = append(specs, NodeSpec{Name: h.Name, Addr: h.IPv4, Peers: peers, Services: svcs})
	}
	return specs, nil
}

// StartNode starts node i (0-based) of l as a process running exe args in
// the node's namespace, its log going to out (os.Stderr if nil); exe must
// call MaybeRunNode first.
func (l *Lab) StartNode(i int, spec NodeSpec, out io.Writer, exe string, args ...string) (*exec.Cmd, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("l2lab: encoding node spec: %w", err)
	}
	argv := []string{"netns", "exec", l.Nodes[i].NS}
	if spec.Nice != 0 {
		argv = append(argv, "nice", "-n", fmt.Sprint(spec.Nice))
	}
	cmd := exec.Command("ip", append(append(argv, exe), args...)...)
	cmd.Env = append(os.Environ(), NodeEnv+"="+string(b))
	if out == nil {
		out = os.Stderr
	}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("l2lab: starting %s: %w", spec.Name, err)
	}
	return cmd, nil
}

// MaybeRunNode runs a Layer 2 node and exits if NodeEnv is set, and returns
// at once otherwise. The node stops answering and leaves on SIGTERM.
func MaybeRunNode() {
	raw := os.Getenv(NodeEnv)
	if raw == "" {
		return
	}
	var spec NodeSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "l2lab node: decoding %s: %v\n", NodeEnv, err)
		os.Exit(2)
	}
	log := funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "%s %s %s %s\n", time.Now().Format("15:04:05.000"), spec.Name, prefix, args)
	}, funcr.Options{Verbosity: spec.Verbosity})
	if err := runNode(spec, log); err != nil {
		log.Error(err, "node failed")
		os.Exit(1)
	}
	os.Exit(0)
}

func runNode(spec NodeSpec, log logr.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	metrics, err := l2.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		return err
	}
	mc := member.DefaultConfig()
	mc.Name = spec.Name
	mc.BindAddr = spec.Addr
	mc.BindPort = MemberPort
	mc.Peers = spec.Peers
	mc.Keys = [][]byte{Key()}
	mc.Log = log
	if spec.ProbeInterval > 0 {
		mc.ProbeInterval = spec.ProbeInterval
	}
	if spec.ProbeTimeout > 0 {
		mc.ProbeTimeout = spec.ProbeTimeout
	}
	if spec.SuspicionMult > 0 {
		mc.SuspicionMult = spec.SuspicionMult
	}
	if spec.SuspicionMaxTimeoutMult > 0 {
		mc.SuspicionMaxTimeoutMult = spec.SuspicionMaxTimeoutMult
	}
	if spec.AwarenessMaxMultiplier > 0 {
		mc.AwarenessMaxMultiplier = spec.AwarenessMaxMultiplier
	}
	if spec.Silence != 0 {
		mc.Silence = max(spec.Silence, 0)
	}
	n, err := l2.NewNode(l2.NodeConfig{
		Member:    mc,
		Announcer: l2.AnnouncerConfig{Metrics: metrics, Log: log, Rescan: 200 * time.Millisecond},
	})
	if err != nil {
		return err
	}
	n.SetServices(spec.Services)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		last := ""
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				var s []string
				for _, ip := range n.Owned() {
					s = append(s, ip.String())
				}
				if now := strings.Join(s, ","); now != last {
					last = now
					log.Info("owned", "ips", now, "live", n.Live())
				}
			}
		}
	}()
	return n.Run(ctx)
}
