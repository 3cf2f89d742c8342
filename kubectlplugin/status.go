package kubectlplugin

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatStatus prints `kubectl herald status`: one row per LoadBalancer
// Service (IPs, pool, IPAllocated, how it is announced) and one per node
// (FRR apply, BGP sessions, BFD, Layer 2 IPs). The output depends only on
// snap.
func FormatStatus(w io.Writer, snap *Snapshot) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tIPS\tPOOL\tIP ALLOCATED\tANNOUNCED\tVIA")
	svcs := snap.loadBalancers()
	for _, svc := range svcs {
		ips := serviceIPs(svc)
		var addrs, pools []string
		for _, ip := range ips {
			addrs = append(addrs, ip.String())
			if p := snap.poolOf(ip); p != "" && !slices.Contains(pools, p) {
				pools = append(pools, p)
			}
		}
		how := via(snap, ips)
		if svc.Spec.LoadBalancerClass != nil && *svc.Spec.LoadBalancerClass != snap.LBClass {
			how = "not herald's: loadBalancerClass " + *svc.Spec.LoadBalancerClass
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", key(svc), joinOr(addrs, ",", "<pending>"), joinOr(pools, ",", "-"),
			condSummary(condition(svc, ConditionIPAllocated)), condSummary(condition(svc, ConditionAnnounced)), how)
	}
	if len(svcs) == 0 {
		fmt.Fprintln(tw, "(no LoadBalancer Services)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tFRR GENERATION\tRESULT\tMETHOD\tAPPLY TIME\tBGP SESSIONS UP\tBFD UP\tL2 IPS")
	for _, name := range snap.nodeNames() {
		ns := snap.nodeState(name)
		if ns == nil {
			fmt.Fprintf(tw, "%s\t-\tno NodeState\t-\t-\t-\t-\t-\n", name)
			continue
		}
		gen, result, method, took := "-", "-", "-", "-"
		if f := ns.Status.FRR; f != nil {
			gen, result = fmt.Sprint(f.Generation), string(f.Result)
			if len(f.RejectedLines) > 0 {
				result += fmt.Sprintf(" (%d rejected lines)", len(f.RejectedLines))
			}
			if f.Method != "" {
				method = string(f.Method)
			}
			if f.Duration != nil {
				took = f.Duration.Round(time.Microsecond).String()
			}
		}
		up := 0
		for _, s := range ns.Status.BGPSessions {
			if s.State == "Established" {
				up++
			}
		}
		bfdUp := 0
		for _, b := range ns.Status.BFDPeers {
			if strings.EqualFold(b.State, "up") {
				bfdUp++
			}
		}
		var l2 []string
		for _, a := range ns.Status.L2Announcements {
			l2 = append(l2, a.IP+"@"+a.Interface)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%s\n", name, gen, result, method, took,
			up, len(ns.Status.BGPSessions), bfdUp, len(ns.Status.BFDPeers), joinOr(l2, ",", "-"))
	}
	return tw.Flush()
}

// via says how ips are announced, from the NodeStates: "BGP node1→peer,
// node2→peer; L2 node3/eth0".
func via(snap *Snapshot, ips []netip.Addr) string {
	if len(ips) == 0 {
		return "-"
	}
	var l2, nodes []string
	byNode := map[string][]string{}
	for _, ip := range ips {
		routes, answers := snap.announcedBy(ip)
		for _, r := range routes {
			if _, ok := byNode[r.node]; !ok {
				nodes = append(nodes, r.node)
			}
			peer := r.peer
			if r.session != "Established" {
				peer += "(" + r.session + ")"
			}
			if !slices.Contains(byNode[r.node], peer) {
				byNode[r.node] = append(byNode[r.node], peer)
			}
		}
		for _, a := range answers {
			s := a.node + "/" + a.iface
			if !slices.Contains(l2, s) {
				l2 = append(l2, s)
			}
		}
	}
	slices.Sort(nodes)
	var bgp []string
	for _, n := range nodes {
		bgp = append(bgp, n+"→"+strings.Join(byNode[n], "+"))
	}
	var parts []string
	if len(bgp) > 0 {
		parts = append(parts, "BGP "+strings.Join(bgp, ","))
	}
	if len(l2) > 0 {
		parts = append(parts, "L2 "+strings.Join(l2, ","))
	}
	return joinOr(parts, "; ", "not announced")
}
