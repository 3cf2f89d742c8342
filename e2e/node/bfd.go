package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// BFD as the router sees it: herald's FRR 10 sidecar must bring BFD up
// with the router's FRR and keep it up from the first second (issue 14:
// FRR re-keys a neighbor's BFD session when its BGP session first opens,
// and the peer sees BFD go down — FRR issue 17337). The router's own
// counters are read: a BFD session herald's bfdd deleted, re-created or let
// time out shows there as a down event, and a BGP session reset as a
// dropped connection.

// bfdSettle is how long the sessions are watched after BFD came up: the
// flap came 2–12 ms after each BGP session first opened, and the agent
// gives FRR a neighbor's BFD line only after that.
const bfdSettle = 5 * time.Second

// bfdCounter is one BFD session's counters at the router (`show bfd peers
// counters json`).
type bfdCounter struct {
	Peer string `json:"peer"`
	Up   int    `json:"session-up-event"`
	Down int    `json:"session-down-event"`
}

// bfdBaseline reads the router's BFD down events per peer before herald's
// objects are applied: an earlier phase's sessions (ended by its uninstall
// and its bgpd kill) may have left counters behind.
func (e *e2e) bfdBaseline(ctx context.Context) (map[string]int, error) {
	cs, err := e.bfdCounters(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, c := range cs {
		m[c.Peer] = c.Down
	}
	return m, nil
}

// bfdSteady waits until the router has BFD up with the node on both
// families, watches bfdSettle longer, and fails on any BFD down event
// since baseline or any BGP connection the router saw dropped.
func (e *e2e) bfdSteady(ctx context.Context, baseline map[string]int) (string, error) {
	want := []string{nodeLAN4, nodeLAN6}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	if err := poll(wctx, 200*time.Millisecond, func() error { return e.bfdUp(wctx) }); err != nil {
		return "", err
	}
	upAfter := time.Since(start)
	select {
	case <-time.After(bfdSettle):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	cs, err := e.bfdCounters(ctx)
	if err != nil {
		return "", err
	}
	var bad []string
	for _, c := range cs {
		if slices.Contains(want, c.Peer) && c.Down > baseline[c.Peer] {
			bad = append(bad, fmt.Sprintf("BFD with %s went down %d time(s)", c.Peer, c.Down-baseline[c.Peer]))
		}
	}
	var neighbors map[string]struct {
		Established int    `json:"connectionsEstablished"`
		Dropped     int    `json:"connectionsDropped"`
		LastReset   string `json:"lastResetDueTo"`
	}
	if err := e.routerJSON(ctx, "show bgp neighbors json", &neighbors); err != nil {
		return "", err
	}
	for _, w := range want {
		n, ok := neighbors[w]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("the router has no BGP neighbor %s", w))
		case n.Dropped > 0:
			bad = append(bad, fmt.Sprintf("the router's BGP session with %s dropped %d time(s) (last reset: %s)", w, n.Dropped, n.LastReset))
		}
	}
	if len(bad) > 0 {
		return "", fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return fmt.Sprintf("BFD up with both of the node's addresses (waited %v for it); 0 BFD down events since the sessions began and 0 BGP sessions dropped, %v later", upAfter.Round(10*time.Millisecond), bfdSettle), nil
}

// bfdUp checks once that the router has BFD up with both of the node's
// addresses.
func (e *e2e) bfdUp(ctx context.Context) error {
	var peers []struct {
		Peer   string `json:"peer"`
		Status string `json:"status"`
	}
	if err := e.routerJSON(ctx, "show bfd peers json", &peers); err != nil {
		return err
	}
	var up []string
	for _, p := range peers {
		if p.Status == "up" {
			up = append(up, p.Peer)
		}
	}
	for _, w := range []string{nodeLAN4, nodeLAN6} {
		if !slices.Contains(up, w) {
			return fmt.Errorf("the router's BFD session with %s is not up (up: %v)", w, up)
		}
	}
	return nil
}

// bfdCounters reads the router's BFD counters.
func (e *e2e) bfdCounters(ctx context.Context) ([]bfdCounter, error) {
	var cs []bfdCounter
	return cs, e.routerJSON(ctx, "show bfd peers counters json", &cs)
}

// routerJSON runs a show command with JSON output on the router's FRR.
func (e *e2e) routerJSON(ctx context.Context, cmd string, v any) error {
	out, err := e.router.Vtysh(ctx, "-c", cmd)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("router: decoding %q: %w: %q", cmd, err, out)
	}
	return nil
}
