package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/heraldlb/herald/kubectlplugin"
)

// drillCmd runs kubectl herald drill svc/NAME.
func drillCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("drill", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config)")
	kubecontext := fs.String("context", "", "the kubeconfig context to use")
	namespace := fs.StringP("namespace", "n", "", "the Service's namespace; default: the context's")
	heraldNS := fs.String("herald-namespace", "herald-system", "the namespace of herald's objects")
	lbClass := fs.String("lb-class", "", "the spec.loadBalancerClass herald serves (empty: Services with none)")
	timeout := fs.Duration("request-timeout", 30*time.Second, "how long to wait for the API server")
	node := fs.String("node", "", "the node that gives the Service up (default: the one announcing it; in BGP mode the first by name)")
	ipFlag := fs.String("ip", "", "the Service IP to probe (default: its first)")
	mode := fs.String("mode", "", "L2 or BGP, for a Service announced both ways (default: L2 if it is announced in L2 mode)")
	probe := fs.String("probe", "", "tcp (connect to the Service's first TCP port) or icmp (echo); default tcp when the Service has a TCP port")
	port := fs.Uint16("port", 0, "the TCP port to probe instead of the Service's first")
	every := fs.Duration("interval", 10*time.Millisecond, "time between probes")
	probeTimeout := fs.Duration("probe-timeout", 200*time.Millisecond, "a probe not answered within this counts as lost")
	duration := fs.Duration("duration", 5*time.Second, "how long the node gives the Service up")
	settle := fs.Duration("settle", 30*time.Second, "the longest wait for the NodeStates to show the take-over, and then the node's return")
	fromNetns := fs.String("from-netns", "", "probe from this network namespace of this machine (ip netns NAME or a path; needs root): "+
		"for a lab, or for kubectl run on a node or router; default: where kubectl runs")
	dryRun := fs.Bool("dry-run", false, "print what the drill would do and change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one Service: svc/NAME (with -n NAMESPACE) or NAMESPACE/NAME")
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: *kubecontext}
	overrides.Context.Namespace = *namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	ns, _, err := cc.Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	target, err := serviceKey(fs.Arg(0), *namespace, ns)
	if err != nil {
		return err
	}
	o := kubectlplugin.DrillOptions{
		Load:     kubectlplugin.LoadOptions{Namespace: *heraldNS, LBClass: *lbClass, Service: target},
		Node:     *node,
		Mode:     strings.ToUpper(*mode),
		Probe:    kubectlplugin.ProbeTarget{Proto: strings.ToLower(*probe), Port: *port, Every: *every, Timeout: *probeTimeout},
		From:     "here (where kubectl runs)",
		Duration: *duration, Settle: *settle, DryRun: *dryRun,
	}
	if *ipFlag != "" {
		if o.IP, err = netip.ParseAddr(*ipFlag); err != nil {
			return fmt.Errorf("--ip %q: %w", *ipFlag, err)
		}
	}
	if *fromNetns != "" {
		o.Probe.Netns = *fromNetns
		if !strings.Contains(*fromNetns, "/") {
			o.Probe.Netns = filepath.Join("/var/run/netns", *fromNetns)
		}
		o.From = "network namespace " + *fromNetns
	}
	c, err := newClient(cc, *timeout)
	if err != nil {
		return err
	}
	_, err = kubectlplugin.RunDrill(ctx, c, o, stdout)
	return err
}
