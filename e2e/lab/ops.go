package lab

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExecCommand returns the command running args in the namespace of lab
// name (router, client, nodeN), for callers wiring its input and output.
func (l *Lab) ExecCommand(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	ns, err := l.plan.Netns(name)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("lab exec %s: no command given: add one after --", name)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...), nil
}

// Exec runs args in the namespace of lab name (router, client, nodeN) and
// returns its standard output; a non-zero exit is an error holding its
// standard error.
func (l *Lab) Exec(ctx context.Context, name string, args ...string) (string, error) {
	ns, err := l.plan.Netns(name)
	if err != nil {
		return "", err
	}
	if len(args) == 0 {
		return "", fmt.Errorf("lab exec %s: no command given", name)
	}
	return run(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// VtyshCommand returns the vtysh command line for the FRR of lab name
// (router or nodeN): append -c CMD arguments.
func (l *Lab) VtyshCommand(name string) ([]string, error) {
	ps, err := l.plan.FRRName(name)
	if err != nil {
		return nil, err
	}
	return []string{"vtysh", "-N", ps}, nil
}

// Vtysh runs each of cmds (as vtysh -c) on the FRR of lab name (router or
// nodeN) and returns vtysh's standard output.
func (l *Lab) Vtysh(ctx context.Context, name string, cmds ...string) (string, error) {
	argv, err := l.VtyshCommand(name)
	if err != nil {
		return "", err
	}
	for _, c := range cmds {
		argv = append(argv, "-c", c)
	}
	return run(ctx, argv[0], argv[1:]...)
}

// ConfigureRouter applies config lines to the router's running FRR
// (`configure terminal` then each line), for tests needing another router
// setup, such as an iBGP neighbor: "router bgp 64500", "neighbor
// 198.51.100.12 remote-as internal".
func (l *Lab) ConfigureRouter(ctx context.Context, lines ...string) error {
	_, err := l.Vtysh(ctx, RouterName, append([]string{"configure terminal"}, lines...)...)
	return err
}

// CutLink takes node's LAN link down at the switch, as a pulled cable
// would: the node loses carrier and the router stops hearing it.
func (l *Lab) CutLink(ctx context.Context, node string) error { return l.setLink(ctx, node, "down") }

// RestoreLink brings node's LAN link back up after CutLink.
func (l *Lab) RestoreLink(ctx context.Context, node string) error {
	return l.setLink(ctx, node, "up")
}

func (l *Lab) setLink(ctx context.Context, node, state string) error {
	n, ok := l.plan.Node(node)
	if !ok {
		return fmt.Errorf("lab: no node %q: use one of %s", node, strings.Join(l.plan.Names()[2:], ", "))
	}
	return ip(ctx, "-n", l.plan.LAN, "link", "set", n.LANPort, state)
}

// Status is what `herald lab status` shows.
type Status struct {
	Dir        string
	Kubeconfig string
	// APIServer is "ready" or why not.
	APIServer string
	// Namespaces maps each lab namespace to whether it exists.
	Namespaces map[string]bool
	// FRR maps each FRR pathspace to whether every daemon answers.
	FRR map[string]bool
	// Procs maps each tracked process to whether it runs.
	Procs map[string]ProcStatus
	// Components are herald's components as the binary has them now.
	Components []Component
	// Nodes are the Node objects with their Ready condition.
	Nodes map[string]bool
}

// ProcStatus is one tracked process in a Status.
type ProcStatus struct {
	Proc
	Running bool
	// Supervisor is what the process's supervisor says (`herald lab
	// supervise`: the component's own pid, restarts, last exit); nil for
	// a process run without one.
	Supervisor *SupervisorStatus
}

// Status checks every part of the lab.
func (l *Lab) Status(ctx context.Context) Status {
	s := Status{
		Dir: l.opts.Dir, Kubeconfig: l.Kubeconfig(),
		Namespaces: map[string]bool{}, FRR: map[string]bool{}, Procs: map[string]ProcStatus{}, Nodes: map[string]bool{},
	}
	found, _ := listNetns(ctx, Prefix)
	for _, ns := range l.plan.Namespaces() {
		s.Namespaces[ns] = slices.Contains(found, ns)
	}
	for _, name := range l.plan.FRRNames() {
		s.FRR[name] = frrAlive(name)
	}
	for name, p := range l.Procs() {
		ps := ProcStatus{Proc: p, Running: procAlive(p)}
		if isSupervisor(p) {
			if st, err := ReadSupervisorStatus(supervisorStatusPath(l.opts.Dir, name)); err == nil {
				ps.Supervisor = &st
			}
		}
		s.Procs[name] = ps
	}
	for _, c := range []string{FRRAgent, Speaker, Controller} {
		s.Components = append(s.Components, probeComponent(ctx, l.opts.HeraldBin, c))
	}
	reqCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	body, err := l.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(reqCtx)
	switch {
	case err != nil:
		s.APIServer = err.Error()
	case strings.TrimSpace(string(body)) != "ok":
		s.APIServer = strings.TrimSpace(string(body))
	default:
		s.APIServer = "ready"
		if nodes, err := l.client.CoreV1().Nodes().List(reqCtx, metav1.ListOptions{}); err == nil {
			for i := range nodes.Items {
				s.Nodes[nodes.Items[i].Name] = ready(&nodes.Items[i])
			}
		}
	}
	return s
}

// Healthy reports whether every part of the status is up, and lists what is not.
func (s Status) Healthy() (bool, []string) {
	var bad []string
	if s.APIServer != "ready" {
		bad = append(bad, "API server: "+s.APIServer)
	}
	for _, m := range []map[string]bool{s.Namespaces, s.FRR, s.Nodes} {
		for k, ok := range m {
			if !ok {
				bad = append(bad, k+" down")
			}
		}
	}
	for k, p := range s.Procs {
		if !p.Running {
			bad = append(bad, k+" not running (log: "+p.Log+")")
		}
	}
	sort.Strings(bad)
	return len(bad) == 0, bad
}

// Print writes the status as text.
func (s Status) Print(w io.Writer) {
	yes := func(b bool) string {
		if b {
			return "up"
		}
		return "DOWN"
	}
	fmt.Fprintf(w, "lab folder   %s\nkubeconfig   %s\nAPI server   %s (%s)\n", s.Dir, s.Kubeconfig, APIServerURL(), s.APIServer)
	for _, k := range sortedKeys(s.Namespaces) {
		fmt.Fprintf(w, "netns        %-14s %s\n", k, yes(s.Namespaces[k]))
	}
	for _, k := range sortedKeys(s.FRR) {
		fmt.Fprintf(w, "frr          %-14s %s\n", k, yes(s.FRR[k]))
	}
	for _, k := range sortedKeys(s.Nodes) {
		fmt.Fprintf(w, "Node         %-14s ready=%v\n", k, s.Nodes[k])
	}
	for _, k := range sortedKeys(s.Procs) {
		p := s.Procs[k]
		fmt.Fprintf(w, "process      %-18s pid %-7d %s  log %s\n", k, p.PID, yes(p.Running), p.Log)
		if sv := p.Supervisor; sv != nil {
			state := fmt.Sprintf("running (pid %d)", sv.PID)
			if sv.PID == 0 {
				state = "waiting to restart at " + sv.NextStart.Format("15:04:05")
			}
			fmt.Fprintf(w, "             %-18s restarts %d, %s", "", sv.Restarts, state)
			if sv.LastExit != "" {
				fmt.Fprintf(w, ", last %s at %s", sv.LastExit, sv.ExitedAt.Format("15:04:05"))
			}
			fmt.Fprintln(w)
		}
	}
	for _, c := range s.Components {
		if !c.Built {
			fmt.Fprintf(w, "missing      herald %s: %s\n", c.Name, c.Missing)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
