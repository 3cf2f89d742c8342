package lab

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// HeraldNamespace is the Kubernetes namespace herald's components use in
// the lab (POD_NAMESPACE).
const HeraldNamespace = "herald-system"

// Herald's subcommands the lab runs.
const (
	Controller = "controller"
	Speaker    = "speaker"
	FRRAgent   = "frr-agent"
)

// Component says whether a herald subcommand is built, and if not, why.
type Component struct {
	// Name is the subcommand: controller, speaker or frr-agent.
	Name string
	// Built is true when the binary has the subcommand.
	Built bool
	// Missing says why it is not built, with the fix.
	Missing string
	// help is the subcommand's -h output, used to pass only the flags it declares.
	help string
}

// probeComponent asks bin whether it has subcommand sub: a missing binary
// or a placeholder that answers "not built yet" means it is not built.
func probeComponent(ctx context.Context, bin, sub string) Component {
	c := Component{Name: sub}
	if _, err := os.Stat(bin); err != nil {
		c.Missing = fmt.Sprintf("%s does not exist (run `make build` or set Options.HeraldBin / HERALD_BIN)", bin)
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, sub, "-h").CombinedOutput()
	text := string(out)
	switch {
	case strings.Contains(text, "not built yet"):
		c.Missing = fmt.Sprintf("`%s %s` is not built yet", filepath.Base(bin), sub)
	case strings.Contains(text, "unknown command"):
		c.Missing = fmt.Sprintf("`%s` has no subcommand %s", bin, sub)
	default:
		c.Built = true
		c.help = text
	}
	return c
}

// declares reports whether the help text declares flag name (-name or --name).
func (c Component) declares(name string) bool {
	return regexp.MustCompile(`(?m)(^|[\s,])--?` + regexp.QuoteMeta(name) + `([\s=,]|$)`).MatchString(c.help)
}

// flagArgs returns "--name=value" for each pair whose flag the component
// declares, so the lab passes what a subcommand understands and nothing else.
func (c Component) flagArgs(pairs ...string) []string {
	var args []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if c.declares(pairs[i]) {
			args = append(args, "--"+pairs[i]+"="+pairs[i+1])
		}
	}
	return args
}

// agentSocket returns the path of node n's frr-agent socket.
func agentSocket(dir string, n Node) string {
	return filepath.Join(dir, n.Name, "frr-agent.sock")
}

// agentConfig returns the frr.conf node n's frr-agent writes: in the
// lab's folder, one per node (never the host's /etc/frr/frr.conf, which
// every node would overwrite, with a node's BGP password in it).
func agentConfig(dir string, n Node) string {
	return filepath.Join(dir, n.Name, "frr.conf")
}

// agentArgs is the frr-agent command line for node n.
func agentArgs(bin, dir string, c Component, n Node) []string {
	args := []string{bin, FRRAgent, "--socket=" + agentSocket(dir, n)}
	return append(args, c.flagArgs(
		"pathspace", n.Netns, "frr-pathspace", n.Netns, "vtysh-pathspace", n.Netns,
		"node-name", n.Name, "frr-conf", agentConfig(dir, n),
		"metrics-address", AgentMetricsAddr(n),
	)...)
}

// speakerArgs is the speaker command line for node n.
func speakerArgs(bin, dir, kubeconfig string, c Component, n Node) []string {
	args := []string{bin, Speaker}
	return append(args, c.flagArgs(
		"kubeconfig", kubeconfig, "node-name", n.Name, "namespace", HeraldNamespace,
		"metrics-addr", n.Mgmt.String()+":7472", "health-addr", healthAddr(n.Mgmt.String()),
		"metrics-secure", "false",
		"frr-agent-socket", agentSocket(dir, n), "agent-socket", agentSocket(dir, n),
		"frr-socket", agentSocket(dir, n), "socket", agentSocket(dir, n),
	)...)
}

// controllerArgs is the controller command line.
func controllerArgs(bin, kubeconfig string, c Component) []string {
	args := []string{bin, Controller}
	return append(args, c.flagArgs(
		"kubeconfig", kubeconfig, "namespace", HeraldNamespace,
		"metrics-addr", MgmtAddr.String()+":7472", "health-addr", healthAddr(MgmtAddr.String()),
		"metrics-secure", "false",
		"metrics-bind-address", MgmtAddr.String()+":7472",
		"health-probe-bind-address", healthAddr(MgmtAddr.String()),
	)...)
}

// MetricsAddr is where a lab component serves its /metrics, plain HTTP
// (the lab runs them with --metrics-secure=false): the controller on the
// management address of the root namespace, a speaker on its node's.
func MetricsAddr(n *Node) string {
	if n == nil {
		return MgmtAddr.String() + ":7472"
	}
	return n.Mgmt.String() + ":7472"
}

// AgentMetricsAddr is where node n's frr-agent serves its own /metrics.
func AgentMetricsAddr(n Node) string { return n.Mgmt.String() + ":7476" }

// healthAddr is where a component on host serves /readyz, when it has a
// flag for it: the management address, reachable from the root namespace.
func healthAddr(host string) string { return host + ":7473" }

// waitReadyz waits until http://addr/readyz answers 200, or the process
// fails alive, or ctx ends.
func waitReadyz(ctx context.Context, addr string, alive func() error) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		if err := alive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for http://%s/readyz (last: %v): %w", addr, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// componentEnv is the environment of a herald component on node (empty for
// the controller).
func componentEnv(kubeconfig, node, netns string) []string {
	env := []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + HeraldNamespace}
	if node != "" {
		return append(env, "NODE_NAME="+node, "HERALD_FRR_PATHSPACE="+netns)
	}
	// The controller's pod name, its leader-election identity: the same
	// for every run, so a restarted controller takes its Lease back at once.
	return append(env, "POD_NAME=hlab-controller")
}

// waitSocket waits until a unix socket path exists, or the process fails
// alive, or ctx ends.
func waitSocket(ctx context.Context, path string, alive func() error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		if err := alive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for socket %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// settle waits d and then checks the process still runs: a component that
// cannot start (bad flags, no API) exits at once.
func settle(ctx context.Context, d time.Duration, alive func() error) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
	}
	return alive()
}

// aliveCheck returns a function saying whether p still runs, and if not,
// the tail of its log.
func aliveCheck(p Proc) func() error {
	return func() error {
		if procAlive(p) {
			return nil
		}
		return fmt.Errorf("%s (pid %d) %w; last lines of %s:\n%s", p.Name, p.PID, errDied, p.Log, tail(p.Log, 15))
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// MemberlistSecret is the Secret whose "key" encrypts the speakers' Layer 2
// membership traffic: the speaker's --memberlist-secret default, in
// HeraldNamespace.
const MemberlistSecret = "herald-memberlist"

// ensureMemberlistSecret creates MemberlistSecret with a random 32-byte key
// unless it exists (a lab kept up keeps its key: running speakers read it
// at start).
func ensureMemberlistSecret(ctx context.Context, c kubernetes.Interface) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("a memberlist key: %w", err)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: MemberlistSecret, Namespace: HeraldNamespace},
		Data:       map[string][]byte{"key": key},
	}
	if _, err := c.CoreV1().Secrets(HeraldNamespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Secret %s/%s: %w", HeraldNamespace, MemberlistSecret, err)
	}
	return nil
}
