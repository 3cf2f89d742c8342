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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/vtysh"
)

// runFRRAgent runs `herald frr-agent`: the FRR sidecar agent serving
// apply/state on a unix socket.
func runFRRAgent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("frr-agent", flag.ContinueOnError)
	socket := fs.String("socket", "/var/run/herald/frr-agent.sock", "unix socket to serve the API on (created with mode 0600)")
	pathspace := fs.String("pathspace", "", "FRR pathspace (vtysh -N NAME) of the FRR instance; empty for FRR's default")
	vtyshPath := fs.String("vtysh", "vtysh", "vtysh binary")
	vtyDir := fs.String("vty-dir", "/var/run/frr", "folder of FRR's daemon vty sockets (bgpd.vty); the pathspace's subfolder is added when --pathspace is set; empty runs vtysh for every command")
	frrConf := fs.String("frr-conf", "/etc/frr/frr.conf", "frr.conf written (0600) once a config is applied")
	reload := fs.String("frr-reload", "/usr/lib/frr/frr-reload.py", "FRR's frr-reload.py")
	check := fs.Duration("check-interval", 2*time.Second, "how often to check that bgpd still runs the config")
	metricsAddr := fs.String("metrics-address", "", "address to serve /metrics on (host:port); empty serves none")
	dev := fs.Bool("log-development", false, "human-readable logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: frr-agent takes only flags", fs.Args())
	}
	log := zap.New(zap.UseDevMode(*dev)).WithName("frr-agent")
	reg := prometheus.NewRegistry()
	dryRun := vtysh.NewDryRun(*vtyshPath, *pathspace)
	defer dryRun.Close()
	// frr-reload.py's command files go to a folder of the agent's own, so
	// that those of a run stopped by a timeout can be removed.
	rundir, err := os.MkdirTemp("", "herald-frr-reload-")
	if err != nil {
		return fmt.Errorf("creating a folder for frr-reload.py's files: %w", err)
	}
	defer os.RemoveAll(rundir)
	agent, err := frragent.New(frragent.Options{
		Vtysh:         vtysh.Exec(*vtyshPath, *pathspace),
		Reload:        frragent.FRRReload(*reload, *vtyshPath, *pathspace, rundir),
		ConfigPath:    *frrConf,
		VtyDir:        vtySocketDir(*vtyDir, *pathspace),
		DryRun:        dryRun.Check,
		CheckInterval: *check,
		Registerer:    reg,
		Log:           log,
	})
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		ml, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-address %s: %w", *metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ml) }()
		defer srv.Close()
	}
	l, err := frragent.Listen(*socket)
	if err != nil {
		return err
	}
	defer os.Remove(*socket)
	log.Info("serving", "socket", *socket, "pathspace", *pathspace, "frrConf", *frrConf)
	if err := agent.Serve(ctx, l); err != nil && !errors.Is(err, context.Canceled) {
		return err
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
