// Command kubectl-herald is the kubectl plugin: kubectl herald
// status|why|diff|drill|migrate. See package kubectlplugin for what each prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/kubectlplugin"
)

const usage = `kubectl herald: herald's view of the cluster

  kubectl herald status                         every LoadBalancer Service and every node at a glance
  kubectl herald why NAMESPACE/SERVICE          why a Service is pending or not announced
  kubectl herald why svc/NAME -n NAMESPACE
  kubectl herald diff NODE                      the FRR config a node applied vs the one expected now
  kubectl herald diff -f FILE|DIR|- [-f ...] [--delete KIND/NAME ...] [-o json]
                                                what applying herald objects and Services would change, applying
                                                nothing: per node the frr.conf diff, per peer the prefixes added and
                                                withdrawn, L2 IPs that move, Services affected; exit 0 no change,
                                                1 changes, 2 error
  kubectl herald drill svc/NAME [-n NAMESPACE] [--node NODE] [--duration 5s] [--probe tcp|icmp] [--from-netns NS] [--dry-run]
                                                a controlled failover: the node announcing the Service gives it up
                                                for --duration (annotation heraldlb.io/drill, time-bounded, always
                                                removed), the IP is probed every 10ms, and the outage, the node that
                                                took over and the old node's return are printed
  kubectl herald migrate -f metallb.yaml [-o herald.yaml] [--namespace herald-system] [--allow-partial]
                                                convert metallb.io objects to heraldlb.io/v1beta1

Cluster flags (status, why, diff): --kubeconfig, --context, -n/--namespace (why),
--herald-namespace (default herald-system), --lb-class.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one command and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "migrate":
		return migrate(args[1:], stdin, stdout, stderr)
	case "status", "why", "diff":
		err = cluster(ctx, args[0], args[1:], stdin, stdout, stderr)
	case "drill":
		err = drillCmd(ctx, args[1:], stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q: want status, why, diff, drill or migrate", args[0])
	}
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	var fe *filesError
	switch {
	case errors.Is(err, errChanged):
		return 1
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "kubectl herald %s: %v\n", args[0], fe.err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "kubectl herald %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// errChanged is diff -f's answer when something would change (exit 1).
var errChanged = errors.New("something would change")

// filesError is an error of diff -f (exit 2, as diff(1) does).
type filesError struct{ err error }

func (e *filesError) Error() string { return e.err.Error() }

// cluster runs status, why or diff against the cluster.
func cluster(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config)")
	kubecontext := fs.String("context", "", "the kubeconfig context to use")
	namespace := fs.StringP("namespace", "n", "", "the Service's namespace (why); default: the context's")
	heraldNS := fs.String("herald-namespace", "herald-system", "the namespace of herald's objects")
	lbClass := fs.String("lb-class", "", "the spec.loadBalancerClass herald serves (empty: Services with none)")
	timeout := fs.Duration("request-timeout", 30*time.Second, "how long to wait for the API server")
	var files, deletes []string
	var output string
	if cmd == "diff" {
		fs.StringArrayVarP(&files, "filename", "f", nil, "diff -f: a YAML/JSON file, a directory of them (.yaml, .yml, .json) or - for stdin, holding edited or new herald objects and Services; repeatable")
		fs.StringVarP(&output, "output", "o", "", "diff -f: json for machines (default: text)")
		fs.StringArrayVar(&deletes, "delete", nil, "diff -f: also delete KIND/NAME (bgppeer/router, svc/NAMESPACE/NAME, ...); repeatable, usable without -f")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: *kubecontext}
	overrides.Context.Namespace = *namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	if len(files) > 0 || len(deletes) > 0 {
		err := diffFiles(ctx, cc, fs.Args(), files, deletes, output, *heraldNS, *lbClass, *timeout, stdin, stdout)
		if err != nil && !errors.Is(err, errChanged) {
			return &filesError{err}
		}
		return err
	}

	opts := kubectlplugin.LoadOptions{Namespace: *heraldNS, LBClass: *lbClass}
	var target string
	switch cmd {
	case "status":
		if fs.NArg() != 0 {
			return fmt.Errorf("takes no arguments, got %q", fs.Args())
		}
	case "why":
		if fs.NArg() != 1 {
			return fmt.Errorf("want one Service: NAMESPACE/NAME, or svc/NAME with -n NAMESPACE")
		}
		ns, _, err := cc.Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
		}
		target, err = serviceKey(fs.Arg(0), *namespace, ns)
		if err != nil {
			return err
		}
		opts.Service, opts.Secrets = target, true
	case "diff":
		if fs.NArg() != 1 {
			return fmt.Errorf("want one node name, or -f FILE")
		}
		target, opts.Secrets = strings.TrimPrefix(strings.TrimPrefix(fs.Arg(0), "node/"), "nodes/"), true
	}
	c, err := newClient(cc, *timeout)
	if err != nil {
		return err
	}
	return runCluster(ctx, c, cmd, target, opts, stdout)
}

// newClient makes a client of the kubeconfig's cluster knowing herald's
// types.
func newClient(cc clientcmd.ClientConfig, timeout time.Duration) (client.Client, error) {
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.Timeout = timeout
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering client-go's types: %w", err)
	}
	if err := v1beta1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering herald's types: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("making a client for %s: %w", cfg.Host, err)
	}
	return c, nil
}

// runCluster loads a snapshot with c and prints cmd's answer for target.
func runCluster(ctx context.Context, c client.Reader, cmd, target string, opts kubectlplugin.LoadOptions, stdout io.Writer) error {
	snap, err := kubectlplugin.Load(ctx, c, opts)
	if err != nil {
		return err
	}
	switch cmd {
	case "status":
		return kubectlplugin.FormatStatus(stdout, snap)
	case "why":
		return kubectlplugin.FormatWhy(stdout, snap, target)
	default:
		return kubectlplugin.FormatDiff(stdout, snap, target)
	}
}

// serviceKey turns the why argument into namespace/name: "ns/name",
// "svc/name", "service/name", "services/name" or "name", the last three in
// flagNS or else the context's namespace ctxNS.
func serviceKey(arg, flagNS, ctxNS string) (string, error) {
	ns := flagNS
	if ns == "" {
		ns = ctxNS
	}
	if ns == "" {
		ns = "default"
	}
	first, rest, ok := strings.Cut(arg, "/")
	switch {
	case !ok:
		return ns + "/" + arg, nil
	case rest == "" || first == "" || strings.Contains(rest, "/"):
		return "", fmt.Errorf("%q: want NAMESPACE/NAME, svc/NAME or NAME", arg)
	case first == "svc" || first == "service" || first == "services":
		return ns + "/" + rest, nil
	case flagNS != "" && flagNS != first:
		return "", fmt.Errorf("%q names namespace %s but -n says %s; use one", arg, first, flagNS)
	default:
		return arg, nil
	}
}

// migrate runs kubectl herald migrate; the exit code is 1 when something
// was not converted (and nothing is written) unless --allow-partial.
func migrate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("migrate", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.StringP("filename", "f", "", "the MetalLB YAML to convert (- for stdin)")
	out := fs.StringP("output", "o", "", "where to write herald's YAML (default: stdout)")
	namespace := fs.StringP("namespace", "n", "herald-system", "herald's namespace, where the converted objects go")
	partial := fs.Bool("allow-partial", false, "write what could be converted even when something could not, and exit 0")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *file == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "kubectl herald migrate: want -f FILE (or -f - for stdin) and no other argument")
		return 2
	}
	var in []byte
	var err error
	if *file == "-" {
		in, err = io.ReadAll(stdin)
	} else {
		in, err = os.ReadFile(*file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubectl herald migrate: reading %s: %v\n", *file, err)
		return 1
	}
	res, err := kubectlplugin.Migrate(in, *namespace)
	if err != nil {
		fmt.Fprintf(stderr, "kubectl herald migrate: %s: %v\n", *file, err)
		return 1
	}
	for _, i := range res.NotConverted {
		fmt.Fprintf(stderr, "not converted: %s\n", i)
	}
	for _, i := range res.Notes {
		fmt.Fprintf(stderr, "note: %s\n", i)
	}
	if len(res.NotConverted) > 0 && !*partial {
		fmt.Fprintf(stderr, "kubectl herald migrate: %d item(s) not converted; nothing written. Fix them in %s, or rerun with --allow-partial to write the %d converted object(s)\n",
			len(res.NotConverted), *file, res.Converted)
		return 1
	}
	if *out == "" {
		_, err = stdout.Write(res.YAML)
	} else {
		err = os.WriteFile(*out, res.YAML, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubectl herald migrate: writing the output: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "converted %d object(s) to heraldlb.io/v1beta1 in namespace %s\n", res.Converted, *namespace)
	return 0
}
