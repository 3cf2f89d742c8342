package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// What an operator of the lab's routers reads to see sessions reset and
// BFD go down, each from the component's own records: GoBGP's flops, the
// state changes in BIRD's log, and each node's FRR counters. Tests and
// benchmarks read them before and after what they do, and compare.

// GoBGPNeighbor is what `gobgp neighbor -j` says of one session.
type GoBGPNeighbor struct {
	Conf struct {
		NeighborAddress string `json:"neighbor_address"`
	} `json:"conf"`
	State struct {
		// SessionState is 6 when Established.
		SessionState int `json:"session_state"`
		// Flops counts the times the session went down (absent when 0).
		Flops int `json:"flops"`
	} `json:"state"`
}

// GoBGPNeighbors returns the lab's GoBGP sessions by neighbor address.
func (l *Lab) GoBGPNeighbors(ctx context.Context) (map[string]GoBGPNeighbor, error) {
	out, err := l.GoBGP(ctx, "neighbor", "-j")
	if err != nil {
		return nil, err
	}
	var ns []GoBGPNeighbor
	if err := json.Unmarshal([]byte(out), &ns); err != nil {
		return nil, fmt.Errorf("decoding gobgp neighbor -j %q: %w", out, err)
	}
	m := map[string]GoBGPNeighbor{}
	for _, n := range ns {
		m[n.Conf.NeighborAddress] = n
	}
	return m, nil
}

// BirdSessions returns the lab's BIRD BGP sessions (protocols node1_v4,
// node1_v6, ...) and whether each is Established.
func (l *Lab) BirdSessions(ctx context.Context) (map[string]bool, error) {
	out, err := l.BirdC(ctx, "show", "protocols")
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[1] != "BGP" {
			continue
		}
		m[f[0]] = strings.Contains(line, "Established")
	}
	return m, nil
}

// birdSessionStop is the line BIRD logs (`debug protocols { states }`)
// each time one of its sessions with a node goes down.
var birdSessionStop = regexp.MustCompile(`node[0-9]+_v[46]: State changed to stop`)

// FRRCounts are one node FRR's counts: sessions dropped per neighbor and
// BFD down transitions per peer.
type FRRCounts struct {
	Dropped map[string]int
	BFDDown map[string]int
}

// Counts are every count of the lab's routers and nodes at one moment.
type Counts struct {
	At time.Time
	// GoBGP is the flops per neighbor; Bird the session downs in its log;
	// Nodes each node's FRR counts.
	GoBGP map[string]int
	Bird  int
	Nodes map[string]FRRCounts
}

// Counts reads them all.
func (l *Lab) Counts(ctx context.Context) (Counts, error) {
	c := Counts{At: time.Now(), GoBGP: map[string]int{}, Nodes: map[string]FRRCounts{}}
	g, err := l.GoBGPNeighbors(ctx)
	if err != nil {
		return c, err
	}
	for a, n := range g {
		c.GoBGP[a] = n.State.Flops
	}
	data, err := os.ReadFile(l.BirdLog())
	if err != nil {
		return c, err
	}
	c.Bird = len(birdSessionStop.FindAll(data, -1))
	for _, n := range l.plan.Nodes {
		if c.Nodes[n.Name], err = l.nodeCounts(ctx, n.Name); err != nil {
			return c, err
		}
	}
	return c, nil
}

// nodeCounts reads a node's FRR counts: connectionsDropped of `show bgp
// neighbors json` and session-down of `show bfd peers counters json`.
func (l *Lab) nodeCounts(ctx context.Context, node string) (FRRCounts, error) {
	c := FRRCounts{Dropped: map[string]int{}, BFDDown: map[string]int{}}
	var nbrs map[string]json.RawMessage
	if err := l.vtyshJSON(ctx, node, "show bgp neighbors json", &nbrs); err != nil {
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
		Peer string `json:"peer"`
		Down int    `json:"session-down"`
	}
	if err := l.vtyshJSON(ctx, node, "show bfd peers counters json", &peers); err != nil {
		return c, err
	}
	for _, p := range peers {
		c.BFDDown[p.Peer] += p.Down
	}
	return c, nil
}

// vtyshJSON runs cmd on the FRR of lab name and decodes its JSON into v.
func (l *Lab) vtyshJSON(ctx context.Context, name, cmd string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := l.Vtysh(ctx, name, cmd)
	if err != nil {
		return fmt.Errorf("vtysh %s %q: %w", name, cmd, err)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("vtysh %s %q: decoding %q: %w", name, cmd, out, err)
	}
	return nil
}

// Changes are what went up between two readings.
type Changes struct {
	// GoBGP, Bird and FRR are the session resets GoBGP, BIRD and the
	// nodes' FRR counted; BFD the BFD down transitions the nodes' FRR
	// counted.
	GoBGP, Bird, FRR, BFD int
	// Detail names each session that reset or went down, one line each.
	Detail []string
}

// Since returns what went up between before and c.
func (c Counts) Since(before Counts) Changes {
	var ch Changes
	for a, f := range c.GoBGP {
		if d := f - before.GoBGP[a]; d > 0 {
			ch.GoBGP += d
			ch.Detail = append(ch.Detail, fmt.Sprintf("GoBGP: session with %s went down %d time(s)", a, d))
		}
	}
	if d := c.Bird - before.Bird; d > 0 {
		ch.Bird = d
		ch.Detail = append(ch.Detail, fmt.Sprintf("BIRD: sessions went down %d time(s) (see its log)", d))
	}
	for node, fc := range c.Nodes {
		for a, n := range fc.Dropped {
			if d := n - before.Nodes[node].Dropped[a]; d > 0 {
				ch.FRR += d
				ch.Detail = append(ch.Detail, fmt.Sprintf("%s's FRR: session with %s dropped %d time(s)", node, a, d))
			}
		}
		for a, n := range fc.BFDDown {
			if d := n - before.Nodes[node].BFDDown[a]; d > 0 {
				ch.BFD += d
				ch.Detail = append(ch.Detail, fmt.Sprintf("%s's FRR: BFD with %s went down %d time(s)", node, a, d))
			}
		}
	}
	slices.Sort(ch.Detail)
	return ch
}
