package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/heraldlb/herald/e2e/lab"
)

const labUsage = `usage: herald lab COMMAND [flags]

  up                          bring the lab up (or complete it); prints export KUBECONFIG=...
  down                        remove every namespace, link, process and file of the lab
  status                      show every part of the lab
  vtysh NAME [-c CMD]...      vtysh on the FRR of router or nodeN
  exec NAME -- CMD [ARG]...   run a command in the router, client or nodeN namespace
  pod NAME --node N --service NS/SVC [--port P]
                              serve HTTP as a pod on node N, a ready endpoint of the
                              Service, until interrupted (then its EndpointSlices go)
  supervise [--status FILE] -- CMD [ARG]...
                              run CMD and restart it when it exits, with the kubelet's
                              backoff (10s, 20s, ... 5m; reset after 10m of running);
                              up runs herald's components this way

flags of up, down, status (before the command's other arguments):
`

// runLab runs `herald lab COMMAND`.
func runLab(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, labUsage)
		labFlags(new(lab.Options)).PrintDefaults()
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	var opts lab.Options
	fs := labFlags(&opts)
	switch sub {
	case "up", "down", "status":
		fs.Usage = func() { fmt.Fprint(os.Stderr, labUsage); fs.PrintDefaults() }
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("lab %s: unexpected arguments %q", sub, fs.Args())
		}
	}
	switch sub {
	case "up":
		return labUp(ctx, opts)
	case "down":
		opts.Log = progressLog()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := lab.Destroy(ctx, opts); err != nil {
			return err
		}
		fmt.Println("lab is down")
		return nil
	case "status":
		return labStatus(ctx, opts)
	case "vtysh":
		return labVtysh(ctx, args)
	case "exec":
		return labExec(ctx, args)
	case "pod":
		return labPod(ctx, args)
	case "supervise":
		return labSupervise(ctx, args)
	case "-h", "--help", "help":
		fmt.Fprint(os.Stderr, labUsage)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	return fmt.Errorf("lab: unknown command %q: use up, down, status, vtysh, exec, pod or supervise", sub)
}

func labFlags(o *lab.Options) *flag.FlagSet {
	fs := flag.NewFlagSet("herald lab", flag.ContinueOnError)
	fs.StringVar(&o.Dir, "dir", lab.DefaultDir, "the lab's folder (state, kubeconfig, logs)")
	fs.IntVar(&o.Nodes, "nodes", 3, "number of nodes")
	fs.StringVar(&o.HeraldBin, "herald-bin", "", "herald binary to run (default $HERALD_BIN, else this binary)")
	fs.StringVar(&o.ControlPlaneDir, "control-plane", "", "folder with etcd and kube-apiserver (default $KUBEBUILDER_ASSETS, else bin/)")
	fs.StringVar(&o.CRDDir, "crds", "", "folder of CRD YAML files to install (default config/crd)")
	return fs
}

// progressLog prints the lab's progress messages on standard error.
func progressLog() logr.Logger {
	return funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "%s lab: %s\n", time.Now().Format("15:04:05.000"), args)
	}, funcr.Options{})
}

func labUp(ctx context.Context, opts lab.Options) error {
	if opts.HeraldBin == "" && os.Getenv("HERALD_BIN") == "" {
		if self, err := os.Executable(); err == nil {
			opts.HeraldBin = self
		}
	}
	opts.Log = progressLog()
	opts.Owner = lab.CLIOwner
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	for _, c := range l.Components() {
		if !c.Built {
			fmt.Fprintf(os.Stderr, "herald lab: not started: herald %s: %s\n", c.Name, c.Missing)
		}
	}
	fmt.Fprintf(os.Stderr, "herald lab: up in %s; `herald lab status` shows it, `herald lab down` removes it\n", time.Since(start).Round(time.Millisecond))
	fmt.Printf("export KUBECONFIG=%s\n", l.Kubeconfig())
	return nil
}

func labStatus(ctx context.Context, opts lab.Options) error {
	l, err := lab.Open(opts)
	if err != nil {
		return err
	}
	s := l.Status(ctx)
	s.Print(os.Stdout)
	if ok, bad := s.Healthy(); !ok {
		return fmt.Errorf("lab is not healthy: %s", strings.Join(bad, "; "))
	}
	return nil
}

// passthrough runs cmd with this process's terminal and returns its exit
// status as an error.
func passthrough(cmd *exec.Cmd) error {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	return err
}

func labVtysh(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("lab vtysh: name the FRR: herald lab vtysh router -c 'show bgp summary'")
	}
	l, err := lab.Open(lab.Options{})
	if err != nil {
		return err
	}
	argv, err := l.VtyshCommand(args[0])
	if err != nil {
		return err
	}
	return passthrough(exec.CommandContext(ctx, argv[0], append(argv[1:], args[1:]...)...))
}

func labExec(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("lab exec: name the namespace: herald lab exec client -- ping -c1 198.51.100.1")
	}
	name, rest := args[0], args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	l, err := lab.Open(lab.Options{})
	if err != nil {
		return err
	}
	cmd, err := l.ExecCommand(ctx, name, rest...)
	if err != nil {
		return err
	}
	return passthrough(cmd)
}

func labPod(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("lab pod: name the pod first: herald lab pod web --node node2 --service default/web")
	}
	spec := lab.PodSpec{Name: args[0]}
	fs := flag.NewFlagSet("herald lab pod", flag.ContinueOnError)
	fs.StringVar(&spec.Node, "node", "", "the node running the pod (node1, node2, ...)")
	fs.StringVar(&spec.Service, "service", "", "the Service it backs, namespace/name")
	port := fs.Int("port", 0, "the port it serves (default: the Service's first targetPort, else 8080)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	spec.Port = int32(*port)
	l, err := lab.Open(lab.Options{})
	if err != nil {
		return err
	}
	p, err := l.StartPod(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Printf("pod %s serving on %s port %d (%s, %s) for Service %s; interrupt to stop\n",
		spec.Name, spec.Node, p.Port, p.Addr4, p.Addr6, spec.Service)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.StopPod(stopCtx, spec.Name)
}

// labSupervise runs `herald lab supervise`.
func labSupervise(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("herald lab supervise", flag.ContinueOnError)
	status := fs.String("status", "", "file to write the supervised process's pid, restarts and last exit to (JSON; `herald lab status` prints them)")
	b := lab.KubeletBackoff
	fs.DurationVar(&b.Initial, "backoff", b.Initial, "wait before the first restart; it doubles on each restart")
	fs.DurationVar(&b.Max, "max-backoff", b.Max, "the longest wait between restarts")
	fs.DurationVar(&b.ResetAfter, "reset-after", b.ResetAfter, "a process that ran this long restarts after --backoff again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("lab supervise: give the command to run after --")
	}
	if b.Initial <= 0 || b.Max < b.Initial {
		return fmt.Errorf("lab supervise: --backoff=%s --max-backoff=%s: give a positive backoff no longer than the maximum", b.Initial, b.Max)
	}
	return lab.Supervise(ctx, fs.Args(), b, *status, os.Stderr)
}
