package main

import (
	"context"
	"fmt"
	"strconv"
)

// buildNetwork makes the two namespaces and their links:
//
//	root  hnode-host 203.0.113.65/30  <->  host 203.0.113.66/30  hnode-node
//	hnode-node  lan 198.51.100.130/27, 2001:db8:1e0::130/64  <->  lan .129, ::129  hnode-rtr
//
// with forwarding on in the node (pods, Services) and in the router.
func buildNetwork(ctx context.Context) error {
	cmds := [][]string{
		{"ip", "netns", "add", nodeNetns},
		{"ip", "netns", "add", rtrNetns},
		{"ip", "link", "add", hostLink, "type", "veth", "peer", "name", "host", "netns", nodeNetns},
		{"ip", "addr", "add", hostAddr + "/" + strconv.Itoa(linkPrefix), "dev", hostLink},
		{"ip", "link", "set", hostLink, "up"},
		{"ip", "-n", nodeNetns, "addr", "add", apiAddr + "/" + strconv.Itoa(linkPrefix), "dev", "host"},
		{"ip", "-n", nodeNetns, "link", "add", "lan", "type", "veth", "peer", "name", "lan", "netns", rtrNetns},
	}
	for _, ns := range []string{nodeNetns, rtrNetns} {
		// No duplicate address detection: the LAN is this run's alone, and
		// DAD would hold IPv6 addresses tentative for a second or two.
		cmds = append(cmds,
			[]string{"ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
				"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"},
			[]string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	cmds = append(cmds,
		[]string{"ip", "-n", nodeNetns, "addr", "add", nodeLAN4 + "/27", "dev", "lan"},
		[]string{"ip", "-n", nodeNetns, "addr", "add", nodeLAN6 + "/64", "dev", "lan", "nodad"},
		[]string{"ip", "-n", rtrNetns, "addr", "add", rtrLAN4 + "/27", "dev", "lan"},
		[]string{"ip", "-n", rtrNetns, "addr", "add", rtrLAN6 + "/64", "dev", "lan", "nodad"},
		[]string{"ip", "-n", nodeNetns, "link", "set", "host", "up"},
		[]string{"ip", "-n", nodeNetns, "link", "set", "lan", "up"},
		[]string{"ip", "-n", rtrNetns, "link", "set", "lan", "up"},
		// The node's default routes point at the router: a node needs one
		// (the kubelet and kube-proxy pick the node's address from it), and
		// replies to the router's clients go back that way.
		[]string{"ip", "-n", nodeNetns, "route", "add", "default", "via", rtrLAN4},
		[]string{"ip", "-n", nodeNetns, "-6", "route", "add", "default", "via", rtrLAN6},
	)
	for _, c := range cmds {
		if _, err := run(ctx, c...); err != nil {
			return fmt.Errorf("building the node's network: %w", err)
		}
	}
	return nil
}
