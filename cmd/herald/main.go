// Command herald is the load balancer's one binary. Its subcommands:
//
//	herald controller   allocate IPs to LoadBalancer Services (Deployment)
//	herald speaker      announce them from this node by BGP or L2 (DaemonSet)
//	herald frr-agent    apply FRR configs beside FRR in the speaker pod
//	herald lab          a whole cluster with routers on one machine
//	herald version      print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: its one-line help and the function running it
// with the arguments after its name.
type command struct {
	help string
	run  func(ctx context.Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"controller": {"allocate IPs to LoadBalancer Services", runController},
		"speaker":    {"announce this node's Service IPs by BGP or L2", runSpeaker},
		"frr-agent":  {"apply FRR configs beside FRR (speaker sidecar)", runFRRAgent},
		"lab":        {"a cluster with routers on this machine: up, down, status, vtysh, exec, pod", runLab},
		"version":    {"print the version", runVersion},
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: herald COMMAND [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-11s %s\n", n, cmds[n].help)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands()[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "herald: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "herald %s: %v\n", os.Args[1], err)
		stop()
		os.Exit(1)
	}
}
