package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/heraldlb/herald/frragent"
	agentclient "github.com/heraldlb/herald/frragent/client"
	"github.com/heraldlb/herald/frragent/vtysh"
)

// runFRRAgent runs `herald frr-agent`: the FRR sidecar agent serving
// apply/state on a unix socket; `herald frr-agent wait` is the FRR
// container's preStop hook.
func runFRRAgent(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "wait" {
		return runFRRAgentWait(ctx, args[1:])
	}
	fs := flag.NewFlagSet("frr-agent", flag.ContinueOnError)
	socket := fs.String("socket", frragent.DefaultSocket, "unix socket to serve the API on; the speaker's --agent-socket")
	owner := fs.String("socket-owner", "", "UID:GID (or UID) to give the socket to, so that a speaker running as that user can connect; empty: the agent's own user")
	mode := fs.String("socket-mode", "0600", "the socket's permissions, octal (0660 lets the --socket-owner group connect too)")
	daemons := fs.String("daemons", strings.Join(frragent.DefaultDaemons(), ","), "comma-separated FRR daemons whose vty must answer for /v1/health (the speaker's readiness)")
	pathspace := fs.String("pathspace", "", "FRR pathspace (vtysh -N NAME) of the FRR instance; empty for FRR's default")
	vtyshPath := fs.String("vtysh", "vtysh", "vtysh binary")
	vtyDir := fs.String("vty-dir", "/var/run/frr", "folder of FRR's daemon vty sockets (bgpd.vty); the pathspace's subfolder is added when --pathspace is set; empty runs vtysh for every command")
	frrConf := fs.String("frr-conf", "/etc/frr/frr.conf", "frr.conf written (0600) once a config is applied")
	reload := fs.String("frr-reload", "/usr/lib/frr/frr-reload.py", "FRR's frr-reload.py")
	check := fs.Duration("check-interval", 2*time.Second, "how often to check that bgpd still runs the config")
	withdrawAfter := fs.Duration("withdraw-after", frragent.DefaultWithdrawAfter, "withdraw this node's prefixes (sessions and BFD stay up) once no speaker has been connected for this long, as after a SIGKILL; the speaker, back, announces again; 0 never withdraws")
	metricsAddr := fs.String("metrics-address", "", "address to serve the agent's own /metrics on, plain HTTP (host:port; the shipped manifests use 127.0.0.1:7476, the node's loopback, and the speaker serves it again behind authentication); empty serves none")
	dev := fs.Bool("log-development", false, "human-readable logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: frr-agent takes only flags (or `wait`)", fs.Args())
	}
	uid, gid, err := frragent.ParseSocketOwner(*owner)
	if err != nil {
		return err
	}
	perm, err := strconv.ParseUint(*mode, 8, 32)
	if err != nil || perm > 0o777 {
		return fmt.Errorf("--socket-mode=%q: give octal permissions such as 0600 or 0660", *mode)
	}
	var daemonList []string
	for _, d := range strings.Split(*daemons, ",") {
		if d = strings.TrimSpace(d); d != "" {
			daemonList = append(daemonList, d)
		}
	}
	log := zap.New(zap.UseDevMode(*dev)).WithName("frr-agent")
	reg := prometheus.NewRegistry()
	dryRun := vtysh.NewDryRun(*vtyshPath, *pathspace)
	defer dryRun.Close()
	// frr-reload.py's files (they hold passwords) go to the agent's own
	// 0700 folder beside --frr-conf, which New empties of what a killed
	// agent left and Close removes.
	agent, err := frragent.New(frragent.Options{
		Vtysh:         vtysh.Exec(*vtyshPath, *pathspace),
		Reload:        frragent.FRRReload(*reload, *vtyshPath, *pathspace, frragent.TempDir(*frrConf)),
		ConfigPath:    *frrConf,
		VtyDir:        vtySocketDir(*vtyDir, *pathspace),
		DryRun:        dryRun.Check,
		CheckInterval: *check,
		WithdrawAfter: never(*withdrawAfter),
		Daemons:       daemonList,
		// FRR (frrinit.sh's watchfrr) loads its own frr.conf into a
		// restarted daemon: the agent then lets it.
		RestartLoadsConfig: filepath.Clean(*frrConf) == frragent.InstanceConfig(*pathspace),
		Registerer:         reg,
		Log:                log,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := agent.Close(); err != nil {
			log.Error(err, "removing the agent's files")
		}
	}()
	if *metricsAddr != "" {
		if err := frragent.RegisterDaemonMetrics(reg, agent); err != nil {
			return err
		}
		if err := reg.Register(collectors.NewGoCollector()); err != nil {
			return fmt.Errorf("registering the Go runtime metrics: %w", err)
		}
		if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return fmt.Errorf("registering the process metrics: %w", err)
		}
		ml, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-address %s: %w", *metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ml) }()
		defer srv.Close()
		log.Info("serving metrics", "address", ml.Addr().String())
	}
	if err := os.MkdirAll(filepath.Dir(*socket), 0o755); err != nil {
		return fmt.Errorf("--socket %s: creating its folder: %w", *socket, err)
	}
	l, err := frragent.ListenOwned(*socket, frragent.SocketOwner{Mode: os.FileMode(perm), UID: uid, GID: gid})
	if err != nil {
		return err
	}
	defer os.Remove(*socket)
	if os.Getpid() == 1 {
		// PID 1 of the FRR container: reap FRR's orphaned daemons.
		go frragent.ReapOrphans(ctx, time.Second, log.WithName("reaper"))
	}
	// From here on, whatever the agent and the tools it runs (vtysh,
	// frr-reload.py, which writes its command files with the default
	// mode) create is readable by root alone.
	syscall.Umask(0o077)
	log.Info("serving", "socket", *socket, "socketOwner", *owner, "socketMode", *mode, "daemons", daemonList, "pathspace", *pathspace, "frrConf", *frrConf)
	if err := agent.Serve(ctx, l); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// runFRRAgentWait runs `herald frr-agent wait`, the FRR container's preStop
// hook: it returns once the speaker has withdrawn and said goodbye, or no
// speaker is connected, or --timeout has passed, so that FRR and the agent
// outlive the speaker's withdrawal. It never fails the hook: a missing
// agent has nothing to wait for.
func runFRRAgentWait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("frr-agent wait", flag.ContinueOnError)
	socket := fs.String("socket", frragent.DefaultSocket, "the agent's socket")
	timeout := fs.Duration("timeout", 25*time.Second, "the longest wait: keep it under the pod's terminationGracePeriodSeconds and over the speaker's withdraw timeout (15s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: wait takes only flags", fs.Args())
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, *timeout+5*time.Second)
	defer cancel()
	res, err := agentclient.New(*socket).Wait(wctx, *timeout)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "herald frr-agent wait: not waiting after %s: %v\n", took, err)
	case res.Over:
		fmt.Fprintf(os.Stderr, "herald frr-agent wait: done after %s: %s\n", took, res.Reason)
	default:
		fmt.Fprintf(os.Stderr, "herald frr-agent wait: gave up after %s: %s\n", took, res.Reason)
	}
	return nil
}

// vtySocketDir is where an FRR instance keeps its vty sockets: dir, or its
// pathspace's subfolder (FRR's -N), or "" when dir is empty.
func vtySocketDir(dir, pathspace string) string {
	if dir == "" || pathspace == "" {
		return dir
	}
	return filepath.Join(dir, pathspace)
}

// never maps the flag's 0 (never) to Options' negative; Options' zero is
// the default.
func never(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
