package lab

import (
	"fmt"
	"net/netip"
	"strings"
)

// Prefix starts every namespace, root-namespace link and FRR pathspace the
// lab makes.
const Prefix = "hlab-"

// Names of the lab's parts, as the commands and the Go API take them.
const (
	RouterName = "router"
	ClientName = "client"
	// lanName is the namespace holding the LAN bridge (a switch).
	lanName = "lan"
)

// Fixed addresses and numbers of the lab.
const (
	// RouterASN is the router's BGP autonomous system number.
	RouterASN = 64500
	// APIServerPort is the kube-apiserver's secure port on MgmtAddr.
	APIServerPort = 6443
	// RouterBFDProfile names the router's BFD profile; its intervals (10
	// ms, the BFDProfile minimum) are the shortest the lab uses, so a
	// node's profile sets the pace.
	RouterBFDProfile = "lab"
)

// Address plan (documentation ranges only).
var (
	// MgmtAddr is the root namespace's address on the management bridge,
	// where etcd and the kube-apiserver listen.
	MgmtAddr = netip.MustParseAddr("203.0.113.1")
	// MgmtPrefix is the management network, the only lab prefix on an
	// interface of the host's own namespace: a /27, so that it shadows
	// none of the rest of 203.0.113.0/24 (which a host may reach through
	// its own routes; a whole /24 there once cut this machine off its
	// package mirror).
	MgmtPrefix = netip.MustParsePrefix("203.0.113.0/27")
	// LANPrefix4 and LANPrefix6 are the LAN shared by router, nodes and client.
	LANPrefix4 = netip.MustParsePrefix("198.51.100.0/24")
	LANPrefix6 = netip.MustParsePrefix("2001:db8:100::/64")
	// RouterAddr4 and RouterAddr6 are the router's LAN addresses.
	RouterAddr4 = netip.MustParseAddr("198.51.100.1")
	RouterAddr6 = netip.MustParseAddr("2001:db8:100::1")
	// ClientAddr4 and ClientAddr6 are the client's LAN addresses.
	ClientAddr4 = netip.MustParseAddr("198.51.100.100")
	ClientAddr6 = netip.MustParseAddr("2001:db8:100::100")
	// VIPPrefix4 and VIPPrefix6 hold the VIP pools; every node accepts
	// traffic to them locally (as kube-proxy would) so a pod can answer.
	VIPPrefix4 = netip.MustParsePrefix("192.0.2.0/24")
	VIPPrefix6 = netip.MustParsePrefix("2001:db8:200::/64")
	// ServiceCIDRs are the ClusterIP ranges of the API server: IPv4 first
	// (Services default to IPv4), 126 addresses; the IPv6 range holds
	// 65,534 for tests needing many single-stack IPv6 Services.
	ServiceCIDRs = []netip.Prefix{
		netip.MustParsePrefix("203.0.113.128/25"),
		netip.MustParsePrefix("2001:db8:300::/112"),
	}
)

// Node is one lab node: a network namespace and a Kubernetes Node.
type Node struct {
	// Name is the Kubernetes Node name and the lab name ("node1").
	Name string
	// Netns is the network namespace ("hlab-node1"), also the FRR pathspace.
	Netns string
	// LAN4 and LAN6 are the node's LAN addresses (its InternalIPs).
	LAN4, LAN6 netip.Addr
	// Mgmt is the node's address on the management network.
	Mgmt netip.Addr
	// MgmtLink is the root-namespace end of the node's management veth.
	MgmtLink string
	// LANPort is the switch end of the node's LAN veth, in the LAN namespace.
	LANPort string
}

// Plan is the whole layout of a lab: names and addresses, no I/O.
type Plan struct {
	Nodes []Node
	// Router, Client and LAN are the namespaces of the router, the client
	// and the LAN switch; Bird and GoBGP those of the other routers.
	Router, Client, LAN string
	Bird, GoBGP         string
	// MgmtBridge is the root-namespace bridge of the management network.
	MgmtBridge string
}

// MaxNodes is the most nodes a Plan holds (management addresses .11 to
// .30 of MgmtPrefix).
const MaxNodes = 20

// NewPlan returns the layout of a lab with n nodes (1..MaxNodes).
func NewPlan(n int) (Plan, error) {
	if n < 1 || n > MaxNodes {
		return Plan{}, fmt.Errorf("lab plan: Options.Nodes is %d: use 1 to %d nodes", n, MaxNodes)
	}
	p := Plan{
		Router:     Prefix + RouterName,
		Client:     Prefix + ClientName,
		Bird:       Prefix + BirdName,
		GoBGP:      Prefix + GoBGPName,
		LAN:        Prefix + lanName,
		MgmtBridge: Prefix + "mgmt",
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("node%d", i)
		p.Nodes = append(p.Nodes, Node{
			Name:     name,
			Netns:    Prefix + name,
			LAN4:     hostAddr(LANPrefix4, 10+i),
			LAN6:     hostAddr(LANPrefix6, 0x10+i),
			Mgmt:     hostAddr(MgmtPrefix, 10+i),
			MgmtLink: fmt.Sprintf("%sm%d", Prefix, i),
			LANPort:  name,
		})
	}
	return p, nil
}

// hostAddr returns the address of prefix p with host number n (n < 256).
// IPv6 host numbers are written in hex, so 0x11 gives ::11.
func hostAddr(p netip.Prefix, n int) netip.Addr {
	b := p.Addr().AsSlice()
	b[len(b)-1] = byte(n)
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Node returns the node named name ("node2").
func (p Plan) Node(name string) (Node, bool) {
	for _, n := range p.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Names returns the lab names of every namespace a command can run in:
// router, client, node1..nodeN.
func (p Plan) Names() []string {
	names := []string{RouterName, ClientName, BirdName, GoBGPName}
	for _, n := range p.Nodes {
		names = append(names, n.Name)
	}
	return names
}

// Netns returns the network namespace of the lab name ("router", "client",
// "node1"), with an error naming the valid choices.
func (p Plan) Netns(name string) (string, error) {
	switch name {
	case RouterName:
		return p.Router, nil
	case ClientName:
		return p.Client, nil
	case BirdName:
		return p.Bird, nil
	case GoBGPName:
		return p.GoBGP, nil
	}
	if n, ok := p.Node(name); ok {
		return n.Netns, nil
	}
	return "", fmt.Errorf("lab: no namespace %q: use one of %s", name, strings.Join(p.Names(), ", "))
}

// FRRName returns the FRR pathspace of the lab name: the router or a node.
func (p Plan) FRRName(name string) (string, error) {
	if name == ClientName || name == BirdName || name == GoBGPName {
		return "", fmt.Errorf("lab: %s runs no FRR: use router or a node (%s)", name, strings.Join(p.Names()[4:], ", "))
	}
	return p.Netns(name)
}

// Namespaces returns every network namespace of the plan.
func (p Plan) Namespaces() []string {
	ns := []string{p.LAN, p.Router, p.Client, p.Bird, p.GoBGP}
	for _, n := range p.Nodes {
		ns = append(ns, n.Netns)
	}
	return ns
}

// RootLinks returns the links the plan puts in the root namespace.
func (p Plan) RootLinks() []string {
	links := []string{p.MgmtBridge}
	for _, n := range p.Nodes {
		links = append(links, n.MgmtLink)
	}
	return links
}

// FRRNames returns the FRR pathspaces of the plan: the router's and each node's.
func (p Plan) FRRNames() []string {
	names := []string{p.Router}
	for _, n := range p.Nodes {
		names = append(names, n.Netns)
	}
	return names
}

// RouterConfig returns the router's frr.conf: ASN RouterASN, passive
// sessions with any node of the LAN (eBGP, any other ASN) over IPv4 and
// IPv6, BFD on every session, ECMP over up to 8 paths, every route accepted
// and none sent back to the nodes. As RFC 8326 asks of a receiver, a route
// carrying the GRACEFUL_SHUTDOWN community (65535:0, a draining node's)
// gets LOCAL_PREF 0 on the way in, so the router moves to the other paths
// before the route is withdrawn.
func (p Plan) RouterConfig() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("frr defaults traditional")
	w("hostname %s", RouterName)
	w("log file /var/run/frr/%s/frr.log informational", p.Router)
	w("service integrated-vtysh-config")
	w("ip forwarding")
	w("ipv6 forwarding")
	w("!")
	w("bfd")
	w(" profile %s", RouterBFDProfile)
	w("  receive-interval 10")
	w("  transmit-interval 10")
	w("  detect-multiplier 3")
	w(" exit")
	w("exit")
	w("!")
	w("bgp community-list standard lab-gshut seq 5 permit graceful-shutdown")
	w("!")
	w("route-map lab-accept permit 5")
	w(" match community lab-gshut")
	w(" set local-preference 0")
	w("exit")
	w("route-map lab-accept permit 10")
	w("exit")
	w("route-map lab-send-none deny 10")
	w("exit")
	w("!")
	w("router bgp %d", RouterASN)
	w(" bgp router-id %s", RouterAddr4)
	w(" no bgp ebgp-requires-policy")
	w(" no bgp default ipv4-unicast")
	w(" bgp bestpath as-path multipath-relax")
	w(" bgp listen limit 200")
	for _, g := range []string{"nodes", "nodes6"} {
		w(" neighbor %s peer-group", g)
		w(" neighbor %s remote-as external", g)
		w(" neighbor %s bfd", g)
		w(" neighbor %s bfd profile %s", g, RouterBFDProfile)
	}
	w(" bgp listen range %s peer-group nodes", LANPrefix4)
	w(" bgp listen range %s peer-group nodes6", LANPrefix6)
	for _, af := range []string{"ipv4", "ipv6"} {
		w(" !")
		w(" address-family %s unicast", af)
		w("  maximum-paths 8")
		w("  maximum-paths ibgp 8")
		for _, g := range []string{"nodes", "nodes6"} {
			w("  neighbor %s activate", g)
			w("  neighbor %s route-map lab-accept in", g)
			w("  neighbor %s route-map lab-send-none out", g)
		}
		w(" exit-address-family")
	}
	w("exit")
	w("!")
	return b.String()
}

// NodeConfig returns a node's initial frr.conf, before its agent applies one.
func (n Node) NodeConfig() string {
	return "frr defaults traditional\nhostname " + n.Name + "\nlog file /var/run/frr/" + n.Netns +
		"/frr.log informational\nservice integrated-vtysh-config\n!\n"
}
