package main

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

// What the bench reads of BIRD, GoBGP and the nodes' FRR: whether every
// session is up, and the counts an operator reads to see sessions reset and
// BFD go down, each from the component's own records.

// gobgpNeighbor is what `gobgp neighbor -j` says of one session.
type gobgpNeighbor struct {
	Conf struct {
		NeighborAddress string `json:"neighbor_address"`
	} `json:"conf"`
	State struct {
		SessionState int `json:"session_state"` // 6: established
		Flops        int `json:"flops"`         // absent when 0
	} `json:"state"`
}

// gobgpNeighbors returns GoBGP's sessions by neighbor address.
func (b *bench) gobgpNeighbors(ctx context.Context) (map[string]gobgpNeighbor, error) {
	out, err := b.lab.GoBGP(ctx, "neighbor", "-j")
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

// birdEstablished returns BIRD's BGP sessions (protocols node1_v4,
// node1_v6, ...) and whether each is Established.
func (b *bench) birdEstablished(ctx context.Context) (map[string]bool, error) {
	out, err := b.lab.BirdC(ctx, "show", "protocols")
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

// routersDown says which sessions of BIRD and GoBGP with the nodes are not
// Established, in both families, and which of BIRD's BFD sessions are not
// Up ("" when all are).
func (b *bench) routersDown(ctx context.Context) (string, error) {
	bird, err := b.birdEstablished(ctx)
	if err != nil {
		return "", err
	}
	g, err := b.gobgpNeighbors(ctx)
	if err != nil {
		return "", err
	}
	bfd, err := b.lab.BirdC(ctx, "show", "bfd", "sessions")
	if err != nil {
		return "", err
	}
	// "198.51.100.12  lan  Up  14:31:10.822  0.200  1.000"
	bfdUp := map[string]bool{}
	for _, l := range strings.Split(bfd, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[2] == "Up" {
			bfdUp[f[0]] = true
		}
	}
	var down []string
	for _, n := range b.lab.Plan().Nodes {
		for _, a := range []string{n.LAN4.String(), n.LAN6.String()} {
			if !bfdUp[a] {
				down = append(down, "BIRD's BFD with "+a)
			}
		}
		for _, p := range []string{n.Name + "_v4", n.Name + "_v6"} {
			if !bird[p] {
				down = append(down, "BIRD's "+p)
			}
		}
		for _, a := range []string{n.LAN4.String(), n.LAN6.String()} {
			if g[a].State.SessionState != 6 {
				down = append(down, fmt.Sprintf("GoBGP's %s (state %d)", a, g[a].State.SessionState))
			}
		}
	}
	return strings.Join(down, ", "), nil
}

// birdSessionStop is the line BIRD logs (`debug protocols { states }`)
// each time one of its sessions with a node goes down.
var birdSessionStop = regexp.MustCompile(`node[0-9]+_v[46]: State changed to stop`)

// birdSessionDowns counts those lines in BIRD's log.
func (b *bench) birdSessionDowns() (int, error) {
	data, err := os.ReadFile(b.lab.BirdLog())
	if err != nil {
		return 0, err
	}
	return len(birdSessionStop.FindAll(data, -1)), nil
}

// frrCounters are one node FRR's counts: sessions dropped per neighbor and
// BFD down transitions per peer.
type frrCounters struct {
	dropped map[string]int
	bfdDown map[string]int
}

// nodeCounters reads node's FRR counters: connectionsDropped of `show bgp
// neighbors json` and session-down of `show bfd peers counters json`.
func (b *bench) nodeCounters(ctx context.Context, node string) (frrCounters, error) {
	c := frrCounters{dropped: map[string]int{}, bfdDown: map[string]int{}}
	var nbrs map[string]json.RawMessage
	if err := b.vtyshJSON(ctx, node, "show bgp neighbors json", &nbrs); err != nil {
		return c, err
	}
	for addr, raw := range nbrs {
		var n struct {
			Dropped int `json:"connectionsDropped"`
		}
		if json.Unmarshal(raw, &n) == nil {
			c.dropped[addr] = n.Dropped
		}
	}
	var peers []struct {
		Peer      string `json:"peer"`
		DownCount int    `json:"session-down"`
	}
	if err := b.vtyshJSON(ctx, node, "show bfd peers counters json", &peers); err != nil {
		return c, err
	}
	for _, p := range peers {
		c.bfdDown[p.Peer] += p.DownCount
	}
	return c, nil
}

// vtyshJSON runs cmd on the FRR of lab name and decodes its JSON into v.
func (b *bench) vtyshJSON(ctx context.Context, name, cmd string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := b.lab.Vtysh(ctx, name, cmd)
	if err != nil {
		return fmt.Errorf("vtysh %s %q: %w", name, cmd, err)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("vtysh %s %q: decoding %q: %w", name, cmd, out, err)
	}
	return nil
}

// counters are every count of the lab's routers and nodes at one moment.
type counters struct {
	gobgp map[string]int // flops per neighbor
	bird  int
	nodes map[string]frrCounters
}

// readCounters reads them all.
func (b *bench) readCounters(ctx context.Context) (counters, error) {
	c := counters{gobgp: map[string]int{}, nodes: map[string]frrCounters{}}
	g, err := b.gobgpNeighbors(ctx)
	if err != nil {
		return c, err
	}
	for a, n := range g {
		c.gobgp[a] = n.State.Flops
	}
	if c.bird, err = b.birdSessionDowns(); err != nil {
		return c, err
	}
	for _, n := range b.lab.Plan().Nodes {
		if c.nodes[n.Name], err = b.nodeCounters(ctx, n.Name); err != nil {
			return c, err
		}
	}
	return c, nil
}

// changes are what went up between two readings.
type changes struct {
	// gobgp, bird and frr are the session resets GoBGP, BIRD and the
	// nodes' FRR counted; bfd the BFD down transitions the nodes' FRR
	// counted.
	gobgp, bird, frr, bfd int
	// detail names each session that reset or went down.
	detail []string
}

// since returns what went up between before and c.
func (c counters) since(before counters) changes {
	var ch changes
	for a, f := range c.gobgp {
		if d := f - before.gobgp[a]; d > 0 {
			ch.gobgp += d
			ch.detail = append(ch.detail, fmt.Sprintf("GoBGP: session with %s went down %d time(s)", a, d))
		}
	}
	if d := c.bird - before.bird; d > 0 {
		ch.bird = d
		ch.detail = append(ch.detail, fmt.Sprintf("BIRD: sessions went down %d time(s) (see %s)", d, "its log"))
	}
	for node, fc := range c.nodes {
		for a, n := range fc.dropped {
			if d := n - before.nodes[node].dropped[a]; d > 0 {
				ch.frr += d
				ch.detail = append(ch.detail, fmt.Sprintf("%s's FRR: session with %s dropped %d time(s)", node, a, d))
			}
		}
		for a, n := range fc.bfdDown {
			if d := n - before.nodes[node].bfdDown[a]; d > 0 {
				ch.bfd += d
				ch.detail = append(ch.detail, fmt.Sprintf("%s's FRR: BFD with %s went down %d time(s)", node, a, d))
			}
		}
	}
	slices.Sort(ch.detail)
	return ch
}

// rows are the table's two rows of the counts, with target 0.
func (ch changes) rows() [][]string {
	return [][]string{
		{"session resets during the run", fmt.Sprint(ch.gobgp + ch.bird + ch.frr),
			fmt.Sprintf("GoBGP %d, BIRD %d, nodes' FRR %d", ch.gobgp, ch.bird, ch.frr), "0"},
		{"BFD down transitions during the run", fmt.Sprint(ch.bfd), "nodes' FRR (router, BIRD peers)", "0"},
	}
}
