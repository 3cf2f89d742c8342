package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldlb/herald/e2e/lab"
)

// Whether every session of BIRD and GoBGP is up; the counts of resets and
// BFD downs themselves are the lab's (lab.Counts).

// routersDown says which sessions of BIRD and GoBGP with the nodes are not
// Established, in both families, and which of BIRD's BFD sessions are not
// Up ("" when all are).
func (b *bench) routersDown(ctx context.Context) (string, error) {
	bird, err := b.lab.BirdSessions(ctx)
	if err != nil {
		return "", err
	}
	g, err := b.lab.GoBGPNeighbors(ctx)
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

// rows are the table's two rows of the counts, with target 0.
func countRows(ch lab.Changes) [][]string {
	return [][]string{
		{"session resets during the run", fmt.Sprint(ch.GoBGP + ch.Bird + ch.FRR),
			fmt.Sprintf("GoBGP %d, BIRD %d, nodes' FRR %d", ch.GoBGP, ch.Bird, ch.FRR), "0"},
		{"BFD down transitions during the run", fmt.Sprint(ch.BFD), "nodes' FRR (router, BIRD peers)", "0"},
	}
}
