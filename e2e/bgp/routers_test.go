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

// routerPath is one path a router holds to a prefix: the node it came
// from and the communities it carries, in the router's own notation.
type routerPath struct {
	From             string
	Communities      []string
	LargeCommunities []string
}

// gobgpPaths returns GoBGP's paths to prefix.
func (e *env) gobgpPaths(ctx context.Context, prefix netip.Prefix) ([]routerPath, error) {
	fam := "ipv4"
	if prefix.Addr().Is6() {
		fam = "ipv6"
	}
	out, err := e.lab.GoBGP(ctx, "global", "rib", "-a", fam, prefix.String(), "-j")
	if err != nil {
		return nil, err
	}
	var rib map[string][]struct {
		From  string `json:"neighbor-ip"`
		Attrs []struct {
			Type        int      `json:"type"`
			Communities []uint32 `json:"communities"`
			Value       json.RawMessage
		} `json:"attrs"`
	}
	if err := json.Unmarshal([]byte(out), &rib); err != nil {
		return nil, fmt.Errorf("decoding gobgp global rib %q: %w", out, err)
	}
	var paths []routerPath
	for _, p := range rib[prefix.String()] {
		rp := routerPath{From: p.From}
		for _, a := range p.Attrs {
			switch a.Type {
			case 8: // COMMUNITIES
				for _, c := range a.Communities {
					rp.Communities = append(rp.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
				}
			case 32: // LARGE_COMMUNITY
				var large []struct{ ASN, LocalData1, LocalData2 uint32 }
				if err := json.Unmarshal(a.Value, &large); err != nil {
					return nil, fmt.Errorf("decoding large communities %s: %w", a.Value, err)
				}
				for _, l := range large {
					rp.LargeCommunities = append(rp.LargeCommunities, fmt.Sprintf("%d:%d:%d", l.ASN, l.LocalData1, l.LocalData2))
				}
			}
		}
		paths = append(paths, rp)
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

var (
	birdPath      = regexp.MustCompile(`unicast \[(node[0-9]+)_v[46] `)
	birdCommunity = regexp.MustCompile(`BGP\.community: (.*)`)
	birdLarge     = regexp.MustCompile(`BGP\.large_community: (.*)`)
	birdPair      = regexp.MustCompile(`\((\d+), ?(\d+)(?:, ?(\d+))?\)`)
)

// birdPaths returns BIRD's paths to prefix.
func (e *env) birdPaths(ctx context.Context, prefix netip.Prefix) ([]routerPath, error) {
	out, err := e.lab.BirdC(ctx, "show", "route", prefix.String(), "all")
	if err != nil {
		if strings.Contains(out, "Network not found") {
			return nil, nil
		}
		return nil, err
	}
	var paths []routerPath
	for _, l := range strings.Split(out, "\n") {
		if m := birdPath.FindStringSubmatch(l); m != nil {
			paths = append(paths, routerPath{From: m[1]})
			continue
		}
		if len(paths) == 0 {
			continue
		}
		p := &paths[len(paths)-1]
		if m := birdCommunity.FindStringSubmatch(l); m != nil {
			for _, c := range birdPair.FindAllStringSubmatch(m[1], -1) {
				p.Communities = append(p.Communities, c[1]+":"+c[2])
			}
		}
		if m := birdLarge.FindStringSubmatch(l); m != nil {
			for _, c := range birdPair.FindAllStringSubmatch(m[1], -1) {
				p.LargeCommunities = append(p.LargeCommunities, c[1]+":"+c[2]+":"+c[3])
			}
		}
	}
	return paths, nil
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
// every change; a session that goes down goes from up to stop).
func (e *env) birdSessionDowns() (int, error) {
	b, err := os.ReadFile(e.lab.BirdLog())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if birdSessionStop.MatchString(l) {
			n++
		}
	}
	return n, nil
}

var birdSessionStop = regexp.MustCompile(`node[0-9]+_v[46]: State changed to stop`)

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
		DownCount int    `json:"session-down"`
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
