package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The lab's other routers: BIRD 2 and GoBGP, each in a namespace of its own
// on the LAN beside the FRR router, configured the way their operators
// configure them — one BGP session per node and address family, each in
// one family (IPv4 routes on the IPv4 session, IPv6 routes on the IPv6
// one). BIRD runs BFD (100 ms × 3) with every node and installs ECMP routes
// in its namespace; GoBGP authenticates every session with TCP-MD5.
const (
	// BirdName and GoBGPName are their lab names (`herald lab exec bird`).
	BirdName  = "bird"
	GoBGPName = "gobgp"
	// BirdASN and GoBGPASN are their autonomous systems.
	BirdASN  = 64501
	GoBGPASN = 64502
	// NodeASN is the ASN the routers expect the nodes to speak (the
	// samples' BGPPeers' myASN).
	NodeASN = 64512
	// BirdBFDInterval is the BFD interval BIRD asks for, in milliseconds,
	// with a detect multiplier of BirdBFDMultiplier.
	BirdBFDInterval   = 100
	BirdBFDMultiplier = 3
	// GoBGPPassword is the TCP-MD5 password of every GoBGP session: a lab
	// value, never a real one. The nodes' BGPPeers read it from a Secret.
	GoBGPPassword = "herald-lab-md5"
	// GoBGPAPI is where gobgpd's gRPC API listens, inside its namespace.
	GoBGPAPI = "127.0.0.1:50051"
)

// The routers' LAN addresses.
var (
	BirdAddr4  = netip.MustParseAddr("198.51.100.2")
	BirdAddr6  = netip.MustParseAddr("2001:db8:100::2")
	GoBGPAddr4 = netip.MustParseAddr("198.51.100.3")
	GoBGPAddr6 = netip.MustParseAddr("2001:db8:100::3")
)

// sessionName is the name a router gives its session with node n in one
// family: node1-v4, node1-v6 (BIRD's protocol names).
func sessionName(n Node, v6 bool) string {
	if v6 {
		return n.Name + "_v6"
	}
	return n.Name + "_v4"
}

// BirdConfig returns bird.conf for the lab's BIRD: a session per node and
// family, BFD on each, every route accepted (one with the RFC 8326
// GRACEFUL_SHUTDOWN community 65535:0 with LOCAL_PREF 0) and none sent, ECMP routes
// merged into its namespace's kernel tables, and its state changes logged
// to logFile (the reset counters read them).
func (p Plan) BirdConfig(logFile string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# written by herald lab: BIRD as an operator runs it beside the nodes")
	w("log %q all;", logFile)
	w("router id %s;", BirdAddr4)
	w("debug protocols { states };")
	w("")
	w("protocol device {}")
	w("protocol kernel kernel4 { ipv4 { export all; }; merge paths on; }")
	w("protocol kernel kernel6 { ipv6 { export all; }; merge paths on; }")
	w("protocol bfd {")
	w("  interface \"lan\" { min rx interval %d ms; min tx interval %d ms; multiplier %d; };", BirdBFDInterval, BirdBFDInterval, BirdBFDMultiplier)
	w("}")
	w("")
	w("# RFC 8326: a route with GRACEFUL_SHUTDOWN (65535:0), a draining")
	w("# node's, is least preferred, so BIRD moves off it before it goes.")
	w("filter nodes_in {")
	w("  if (65535, 0) ~ bgp_community then bgp_local_pref = 0;")
	w("  accept;")
	w("}")
	w("")
	w("template bgp nodes {")
	w("  local as %d;", BirdASN)
	w("  bfd on;")
	w("}")
	for _, n := range p.Nodes {
		w("protocol bgp %s from nodes {", sessionName(n, false))
		w("  source address %s;", BirdAddr4)
		w("  neighbor %s as %d;", n.LAN4, NodeASN)
		w("  ipv4 { import filter nodes_in; export none; };")
		w("}")
		w("protocol bgp %s from nodes {", sessionName(n, true))
		w("  source address %s;", BirdAddr6)
		w("  neighbor %s as %d;", n.LAN6, NodeASN)
		w("  ipv6 { import filter nodes_in; export none; };")
		w("}")
	}
	return b.String()
}

// GoBGPConfig returns gobgpd's TOML config for the lab's GoBGP: a session
// per node and family, each with the TCP-MD5 password GoBGPPassword, and a
// global import policy giving a route with the RFC 8326 GRACEFUL_SHUTDOWN
// community (65535:0) LOCAL_PREF 1, the lowest GoBGP can set.
func (p Plan) GoBGPConfig() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# written by herald lab: GoBGP as an operator runs it beside the nodes")
	w("[global.config]")
	w("  as = %d", GoBGPASN)
	w("  router-id = %q", GoBGPAddr4.String())
	w("  port = 179")
	w("  local-address-list = [%q, %q]", GoBGPAddr4.String(), GoBGPAddr6.String())
	// RFC 8326 receiver side: GoBGP's set-local-pref cannot set 0 (it
	// reads 0 as "no action"), so 1, below the default 100 of every other
	// path.
	w("")
	w("[global.apply-policy.config]")
	w("  import-policy-list = [\"gshut\"]")
	w("  default-import-policy = \"accept-route\"")
	w("")
	w("[[defined-sets.bgp-defined-sets.community-sets]]")
	w("  community-set-name = \"gshut\"")
	w("  community-list = [\"65535:0\"]")
	w("")
	w("[[policy-definitions]]")
	w("  name = \"gshut\"")
	w("  [[policy-definitions.statements]]")
	w("    name = \"gshut-least-preferred\"")
	w("    [policy-definitions.statements.conditions.bgp-conditions.match-community-set]")
	w("      community-set = \"gshut\"")
	w("      match-set-options = \"any\"")
	w("    [policy-definitions.statements.actions]")
	w("      route-disposition = \"accept-route\"")
	w("    [policy-definitions.statements.actions.bgp-actions]")
	w("      set-local-pref = 1")
	for _, n := range p.Nodes {
		for _, v6 := range []bool{false, true} {
			peer, local, family := n.LAN4, GoBGPAddr4, "ipv4-unicast"
			if v6 {
				peer, local, family = n.LAN6, GoBGPAddr6, "ipv6-unicast"
			}
			w("")
			w("[[neighbors]]")
			w("  [neighbors.config]")
			w("    neighbor-address = %q", peer.String())
			w("    peer-as = %d", NodeASN)
			w("    auth-password = %q", GoBGPPassword)
			w("    description = %q", sessionName(n, v6))
			w("  [neighbors.transport.config]")
			w("    local-address = %q", local.String())
			w("  [[neighbors.afi-safis]]")
			w("    [neighbors.afi-safis.config]")
			w("      afi-safi-name = %q", family)
		}
	}
	return b.String()
}

// routerDir is the folder of a router's config, socket and log.
func (l *Lab) routerDir(name string) string { return filepath.Join(l.opts.Dir, name) }

// birdSocket is BIRD's control socket.
func (l *Lab) birdSocket() string { return filepath.Join(l.routerDir(BirdName), "bird.ctl") }

// BirdLog is the file BIRD logs its sessions' state changes to.
func (l *Lab) BirdLog() string { return filepath.Join(l.routerDir(BirdName), "bird.log") }

// otherRouters starts BIRD and GoBGP in their namespaces, unless they run.
func (l *Lab) otherRouters(ctx context.Context) error {
	for _, bin := range []string{"bird", "gobgpd"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("the lab's %s router: %w: install Debian's bird2 and gobgpd (make deps)", bin, err)
		}
	}
	for _, name := range []string{BirdName, GoBGPName} {
		if err := os.MkdirAll(l.routerDir(name), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", l.routerDir(name), err)
		}
	}
	birdConf := filepath.Join(l.routerDir(BirdName), "bird.conf")
	if err := os.WriteFile(birdConf, []byte(l.plan.BirdConfig(l.BirdLog())), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", birdConf, err)
	}
	gobgpConf := filepath.Join(l.routerDir(GoBGPName), "gobgpd.toml")
	if err := os.WriteFile(gobgpConf, []byte(l.plan.GoBGPConfig()), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", gobgpConf, err)
	}
	// bird -f stays in the foreground, so the lab tracks its pid.
	if _, _, err := l.keepOrStart(BirdName, l.plan.Bird, nil,
		[]string{"bird", "-f", "-c", birdConf, "-s", l.birdSocket(), "-P", filepath.Join(l.routerDir(BirdName), "bird.pid")}); err != nil {
		return err
	}
	if _, _, err := l.keepOrStart(GoBGPName, l.plan.GoBGP, nil,
		[]string{"gobgpd", "-f", gobgpConf, "-t", "toml", "--api-hosts", GoBGPAPI, "--log-plain", "--pprof-disable"}); err != nil {
		return err
	}
	// Both answer their control channel within a second of starting.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, berr := l.BirdC(ctx, "show", "status")
		_, gerr := l.GoBGP(ctx, "global")
		if berr == nil && gerr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the lab's BIRD and GoBGP do not answer (logs in %s): bird: %v; gobgp: %v", l.opts.Dir, berr, gerr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// BirdC runs birdc on the lab's BIRD and returns its output.
func (l *Lab) BirdC(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "birdc", append([]string{"-s", l.birdSocket()}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("birdc %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// GoBGP runs the gobgp client on the lab's GoBGP and returns its output.
func (l *Lab) GoBGP(ctx context.Context, args ...string) (string, error) {
	host, port, _ := strings.Cut(GoBGPAPI, ":")
	argv := append([]string{"netns", "exec", l.plan.GoBGP, "gobgp", "-u", host, "-p", port}, args...)
	out, err := exec.CommandContext(ctx, "ip", argv...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("gobgp %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
