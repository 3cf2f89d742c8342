package lab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// run runs a command and returns its standard output; a failure carries the
// command line and its standard error.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ip runs iproute2's ip with args.
func ip(ctx context.Context, args ...string) error {
	_, err := run(ctx, "ip", args...)
	return err
}

// sysctl sets key=value in network namespace ns ("" for the root one).
func sysctl(ctx context.Context, ns string, kv ...string) error {
	args := append([]string{"-q", "-w"}, kv...)
	if ns == "" {
		_, err := run(ctx, "sysctl", args...)
		return err
	}
	_, err := run(ctx, "ip", append([]string{"netns", "exec", ns, "sysctl"}, args...)...)
	return err
}

// listNetns returns the named network namespaces starting with prefix.
func listNetns(ctx context.Context, prefix string) ([]string, error) {
	out, err := run(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// listRootLinks returns the root namespace's links starting with prefix.
func listRootLinks(ctx context.Context, prefix string) ([]string, error) {
	out, err := run(ctx, "ip", "-o", "link", "show")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		// "7: hlab-m1@if2: <BROADCAST,...>"
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names, nil
}

// netnsPIDs returns the processes running in network namespace ns.
func netnsPIDs(ctx context.Context, ns string) []int {
	out, err := run(ctx, "ip", "netns", "pids", ns)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// topologyUp reports whether every namespace and root link of the plan exists.
func topologyUp(ctx context.Context, p Plan) bool {
	ns, err := listNetns(ctx, Prefix)
	if err != nil {
		return false
	}
	links, err := listRootLinks(ctx, Prefix)
	if err != nil {
		return false
	}
	for _, n := range p.Namespaces() {
		if !slices.Contains(ns, n) {
			return false
		}
	}
	for _, l := range p.RootLinks() {
		if !slices.Contains(links, l) {
			return false
		}
	}
	return true
}

// buildTopology makes the plan's namespaces, bridges, veths, addresses and
// routes. record is called with each namespace and root link as soon as it
// exists, so that a failure half-way leaves a state Destroy can clean.
func buildTopology(ctx context.Context, p Plan, record func(netns, link string)) error {
	for _, ns := range p.Namespaces() {
		if err := ip(ctx, "netns", "add", ns); err != nil {
			return err
		}
		record(ns, "")
		if err := ip(ctx, "-n", ns, "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	// The LAN switch.
	if err := ip(ctx, "-n", p.LAN, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"); err != nil {
		return err
	}
	if err := ip(ctx, "-n", p.LAN, "link", "set", "br0", "up"); err != nil {
		return err
	}
	hosts := []struct {
		ns, port   string
		a4, a6     netip.Addr
		forwarding bool
	}{
		{p.Router, RouterName, RouterAddr4, RouterAddr6, true},
		{p.Client, ClientName, ClientAddr4, ClientAddr6, false},
		{p.Bird, BirdName, BirdAddr4, BirdAddr6, false},
		{p.GoBGP, GoBGPName, GoBGPAddr4, GoBGPAddr6, false},
	}
	for _, n := range p.Nodes {
		hosts = append(hosts, struct {
			ns, port   string
			a4, a6     netip.Addr
			forwarding bool
		}{n.Netns, n.LANPort, n.LAN4, n.LAN6, false})
	}
	for _, h := range hosts {
		if h.forwarding {
			if err := sysctl(ctx, h.ns, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"); err != nil {
				return err
			}
		}
		steps := [][]string{
			{"-n", p.LAN, "link", "add", h.port, "type", "veth", "peer", "name", "lan", "netns", h.ns},
			{"-n", p.LAN, "link", "set", h.port, "master", "br0", "up"},
			{"-n", h.ns, "addr", "add", h.a4.String() + "/24", "dev", "lan"},
			{"-n", h.ns, "addr", "add", h.a6.String() + "/64", "dev", "lan", "nodad"},
			{"-n", h.ns, "link", "set", "lan", "up"},
		}
		for _, s := range steps {
			if err := ip(ctx, s...); err != nil {
				return err
			}
		}
	}
	for _, s := range [][]string{
		{"-n", p.Client, "route", "add", "default", "via", RouterAddr4.String()},
		{"-n", p.Client, "-6", "route", "add", "default", "via", RouterAddr6.String()},
	} {
		if err := ip(ctx, s...); err != nil {
			return err
		}
	}
	// The management network in the root namespace.
	if err := ip(ctx, "link", "add", p.MgmtBridge, "type", "bridge"); err != nil {
		return err
	}
	record("", p.MgmtBridge)
	if err := sysctl(ctx, "", "net.ipv6.conf."+p.MgmtBridge+".disable_ipv6=1"); err != nil {
		return err
	}
	if err := ip(ctx, "addr", "add", netip.PrefixFrom(MgmtAddr, MgmtPrefix.Bits()).String(), "dev", p.MgmtBridge); err != nil {
		return err
	}
	if err := ip(ctx, "link", "set", p.MgmtBridge, "up"); err != nil {
		return err
	}
	for _, n := range p.Nodes {
		if err := ip(ctx, "link", "add", n.MgmtLink, "type", "veth", "peer", "name", "mgmt", "netns", n.Netns); err != nil {
			return err
		}
		record("", n.MgmtLink)
		if err := sysctl(ctx, "", "net.ipv6.conf."+n.MgmtLink+".disable_ipv6=1"); err != nil {
			return err
		}
		// Nodes answer ARP only for addresses on the asking interface, so
		// the VIP ranges accepted on lo below are never claimed by the
		// kernel (L2 mode's speaker answers for them).
		if err := sysctl(ctx, n.Netns, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
			"net.ipv6.conf.mgmt.disable_ipv6=1"); err != nil {
			return err
		}
		for _, s := range [][]string{
			{"link", "set", n.MgmtLink, "master", p.MgmtBridge, "up"},
			{"-n", n.Netns, "addr", "add", netip.PrefixFrom(n.Mgmt, MgmtPrefix.Bits()).String(), "dev", "mgmt"},
			{"-n", n.Netns, "link", "set", "mgmt", "up"},
			{"-n", n.Netns, "route", "add", "local", VIPPrefix4.String(), "dev", "lo", "table", "local"},
			{"-n", n.Netns, "-6", "route", "add", "local", VIPPrefix6.String(), "dev", "lo", "table", "local"},
		} {
			if err := ip(ctx, s...); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteTopology removes the namespaces and root links named, and any other
// starting with Prefix. Processes still in a namespace must be ended first.
func deleteTopology(ctx context.Context, namespaces, links []string) error {
	var errs []string
	if found, err := listNetns(ctx, Prefix); err == nil {
		namespaces = append(namespaces, found...)
	}
	if found, err := listRootLinks(ctx, Prefix); err == nil {
		links = append(links, found...)
	}
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		if err := ip(ctx, "netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err.Error())
		}
	}
	slices.Sort(links)
	for _, l := range slices.Compact(links) {
		// A link listed a moment ago may be gone by now: the kernel
		// removes a veth with its peer, and a namespace's links with it
		// (asynchronously after `ip netns del`). Either message means gone.
		if err := ip(ctx, "link", "del", l); err != nil && !strings.Contains(err.Error(), "Cannot find device") &&
			!strings.Contains(err.Error(), "No such device") {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("deleting the lab's namespaces and links: %s", strings.Join(errs, "; "))
	}
	return nil
}
