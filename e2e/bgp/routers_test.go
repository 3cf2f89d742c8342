package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/heraldlb/herald/e2e/lab"
)

// What the e2e tests read of the lab's BIRD, GoBGP and the nodes' FRR to
// count what an operator counts: session resets and BFD down transitions,
// each from the component's own records.

// gobgpNeighbor is what `gobgp neighbor -j` says of one session.
type gobgpNeighbor struct {
	Conf struct {
		NeighborAddress string `json:"neighbor_address"`
	} `json:"conf"`
	State struct {
		SessionState int `json:"session_state"` // 6: established
		Flops        int `json:"flops"`
	} `json:"state"`
}

// gobgpNeighbors returns GoBGP's sessions by neighbor address.
func (e *env) gobgpNeighbors(ctx context.Context) (map[string]gobgpNeighbor, error) {
	out, err := e.lab.GoBGP(ctx, "neighbor", "-j")
	if err != nil {
		return nil, err
	}
	var ns []gobgpNeighbor
	if err := json.Unmarshal([]byte(out), &ns); err != nil {
		return nil, fmt.Errorf("decoding gobgp neighbor -j %q: %w", out, err)
	}
	m := map[string]gobgpNeighbor{}
	for _, n := range ns {
		m[n.Conf.NeighborAddress] = n
	}
	return m, nil
}

// gobgpPath is one path of GoBGP's RIB.
type gobgpPath struct {
	Nexthop string
	Attrs   []json.RawMessage
}

// gobgpPaths returns GoBGP's paths to prefix (family "ipv4" or "ipv6"),
// each with its next hop and attributes.
func (e *env) gobgpPaths(ctx context.Context, prefix netip.Prefix) ([]gobgpPath, error) {
	fam := "ipv4"
	if prefix.Addr().Is6() {
		fam = "ipv6"
	}
	out, err := e.lab.GoBGP(ctx, "global", "rib", "-a", fam, prefix.String(), "-j")
	if err != nil {
		if strings.Contains(out, "Network not in table") {
			return nil, nil
		}
		return nil, err
	}
	var rib map[string][]struct {
		Nexthop string            `json:"nexthop"`
		Attrs   []json.RawMessage `json:"attrs"`
	}
	if err := json.Unmarshal([]byte(out), &rib); err != nil {
		return nil, fmt.Errorf("decoding gobgp global rib %q: %w", out, err)
	}
	var paths []gobgpPath
	for _, ps := range rib {
		for _, p := range ps {
			paths = append(paths, gobgpPath{Nexthop: p.Nexthop, Attrs: p.Attrs})
		}
	}
	return paths, nil
}

// birdEstablished returns BIRD's BGP sessions and whether each is
// Established, by protocol name.
func (e *env) birdEstablished(ctx context.Context) (map[string]bool, error) {
	out, err := e.lab.BirdC(ctx, "show", "protocols")
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[1] != "BGP" {
			continue
		}
		m[f[0]] = strings.Contains(l, "Established")
	}
	return m, nil
}

// birdRoute is what `birdc show route all` says of one prefix.
type birdRoute struct {
	// Via are the next hops of the route BIRD selected (its ECMP set in
	// the kernel), Paths the BGP paths it holds.
	Paths            int
	Communities      []string
	LargeCommunities []string
}

var (
	birdCommunity = regexp.MustCompile(`BGP\.community: (.*)`)
	birdLarge     = regexp.MustCompile(`BGP\.large_community: (.*)`)
)

// birdRouteOf returns BIRD's paths to prefix with the first one's
// communities (every node sends the same), or no paths.
func (e *env) birdRouteOf(ctx context.Context, prefix netip.Prefix) (birdRoute, error) {
	out, err := e.lab.BirdC(ctx, "show", "route", "for", prefix.String(), "all")
	if err != nil {
		return birdRoute{}, err
	}
	var r birdRoute
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "[node") && strings.Contains(l, "BGP.") == false && strings.Contains(l, prefix.String()) ||
			strings.HasPrefix(strings.TrimSpace(l), "unicast [node") {
			r.Paths++
		}
		if m := birdCommunity.FindStringSubmatch(l); m != nil && r.Communities == nil {
			r.Communities = strings.Fields(m[1])
		}
		if m := birdLarge.FindStringSubmatch(l); m != nil && r.LargeCommunities == nil {
			r.LargeCommunities = strings.Fields(m[1])
		}
	}
	return r, nil
}

// kernelHops returns the next hops of the route to prefix that BIRD put in
// its namespace's kernel table (its ECMP set), sorted.
func (e *env) kernelHops(ctx context.Context, prefix netip.Prefix) ([]string, error) {
	args := []string{"-4"}
	if prefix.Addr().Is6() {
		args = []string{"-6"}
	}
	args = append(args, "-j", "route", "show", prefix.String())
	out, err := e.lab.Exec(ctx, lab.BirdName, append([]string{"ip"}, args...)...)
	if err != nil {
		return nil, err
	}
	var routes []struct {
		Gateway  string `json:"gateway"`
		Nexthops []struct {
			Gateway string `json:"gateway"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		return nil, fmt.Errorf("decoding ip route %q: %w", out, err)
	}
	var hops []string
	for _, r := range routes {
		if r.Gateway != "" {
			hops = append(hops, r.Gateway)
		}
		for _, h := range r.Nexthops {
			hops = append(hops, h.Gateway)
		}
	}
	slices.Sort(hops)
	return hops, nil
}

// birdSessionDowns counts the times a BGP session of BIRD left the
// Established state, from BIRD's log (`debug protocols { states }` logs
// every change): a reset shows as the protocol going from up to start or
// stop.
func (e *env) birdSessionDowns() (int, error) {
	b, err := os.ReadFile(e.lab.BirdLog())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "node") && (strings.Contains(l, "State changed to stop") || strings.Contains(l, "State changed to start")) &&
			!strings.Contains(l, "_v") == false {
			n++
		}
	}
	return n, nil
}

// frrCounters are one node FRR's counts: sessions dropped per neighbor and
// BFD down transitions per peer, as FRR itself counts them.
type frrCounters struct {
	Dropped map[string]int
	BFDDown map[string]int
}

// nodeCounters reads a node's FRR counters.
func (e *env) nodeCounters(node string) (frrCounters, error) {
	c := frrCounters{Dropped: map[string]int{}, BFDDown: map[string]int{}}
	var nbrs map[string]json.RawMessage
	if err := e.vtyshJSON(node, "show bgp neighbors json", &nbrs); err != nil {
		return c, err
	}
	for addr, raw := range nbrs {
		var n struct {
			Dropped int `json:"connectionsDropped"`
		}
		if json.Unmarshal(raw, &n) == nil {
			c.Dropped[addr] = n.Dropped
		}
	}
	var peers []struct {
		Peer      string `json:"peer"`
		DownCount int    `json:"session-down-events"`
	}
	if err := e.vtyshJSON(node, "show bfd peers counters json", &peers); err != nil {
		return c, err
	}
	for _, p := range peers {
		c.BFDDown[p.Peer] += p.DownCount
	}
	return c, nil
}

// counters are every count of the lab's routers and nodes at one moment.
type counters struct {
	at    time.Time
	gobgp map[string]int // flops per neighbor
	bird  int
	nodes map[string]frrCounters
}

// readCounters reads them all.
func (e *env) readCounters(ctx context.Context) (counters, error) {
	c := counters{at: time.Now(), gobgp: map[string]int{}, nodes: map[string]frrCounters{}}
	g, err := e.gobgpNeighbors(ctx)
	if err != nil {
		return c, err
	}
	for a, n := range g {
		c.gobgp[a] = n.State.Flops
	}
	if c.bird, err = e.birdSessionDowns(); err != nil {
		return c, err
	}
	for _, n := range e.allNodes() {
		if c.nodes[n], err = e.nodeCounters(n); err != nil {
			return c, err
		}
	}
	return c, nil
}

// since lists what went up between before and c: session resets and BFD
// down transitions, one line each; none when nothing did.
func (c counters) since(before counters) []string {
	var out []string
	for a, f := range c.gobgp {
		if d := f - before.gobgp[a]; d > 0 {
			out = append(out, fmt.Sprintf("GoBGP: session with %s went down %d time(s)", a, d))
		}
	}
	if d := c.bird - before.bird; d > 0 {
		out = append(out, fmt.Sprintf("BIRD: sessions went down %d time(s) (%s)", d, "see its log"))
	}
	for node, fc := range c.nodes {
		for a, n := range fc.Dropped {
			if d := n - before.nodes[node].Dropped[a]; d > 0 {
				out = append(out, fmt.Sprintf("%s's FRR: session with %s dropped %d time(s)", node, a, d))
			}
		}
		for a, n := range fc.BFDDown {
			if d := n - before.nodes[node].BFDDown[a]; d > 0 {
				out = append(out, fmt.Sprintf("%s's FRR: BFD with %s went down %d time(s)", node, a, d))
			}
		}
	}
	slices.Sort(out)
	return out
}
