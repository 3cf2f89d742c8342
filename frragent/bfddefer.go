package frragent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/heraldlb/herald/frrconfig"
)

// BFD waits for each neighbor's first session.
//
// bgpd keys a neighbor's BFD session by the local address and interface of
// the BGP session. Configured before the session first opens, the BFD
// session starts with neither (FRR 8.4 and 10.x, bgp_peer_configure_bfd);
// when BGP then comes up, bgpd learns both, deletes that BFD session and
// makes another (bgp_peer_bfd_update_source). The peer's BFD sees the first
// session go Down, and so does bgpd, which sends Cease/BFD Down: every new
// session was torn down milliseconds after it came up, and a peer such as
// BIRD then held it down for its error wait (60 s). Configured once the
// session has opened, BFD starts with the right key and is never remade,
// whatever the session does later. So the agent gives FRR a neighbor's BFD
// lines only once bgpd has seen its session established (bgpd's
// connectionsEstablished > 0, which a bgpd restart or a removed neighbor
// sets back to 0), and adds them as soon as it has (Watch looks every
// pendingBFDInterval while some wait).

// pendingBFDInterval is how often Watch looks for the first session of the
// neighbors whose BFD waits.
const pendingBFDInterval = 200 * time.Millisecond

// neighborID names a neighbor across VRFs.
type neighborID struct{ vrf, name string }

// withBFDDeferred returns cfg with BFD turned off on each neighbor whose
// session has not yet been established (not in connected), and those
// neighbors, as "name" or "name (VRF vrf)". cfg is not changed; when no
// neighbor waits, cfg itself is returned.
func withBFDDeferred(cfg *frrconfig.Config, connected map[neighborID]bool) (*frrconfig.Config, []string) {
	var pending []string
	var out *frrconfig.Config
	for i := range cfg.Routers {
		r := &cfg.Routers[i]
		for j := range r.Neighbors {
			n := &r.Neighbors[j]
			id := neighborID{vrf: r.VRF, name: neighborName(n)}
			if !n.BFD || connected[id] {
				continue
			}
			if out == nil {
				c := *cfg
				c.Routers = slices.Clone(cfg.Routers)
				for k := range c.Routers {
					c.Routers[k].Neighbors = slices.Clone(c.Routers[k].Neighbors)
				}
				out = &c
			}
			m := &out.Routers[i].Neighbors[j]
			m.BFD, m.BFDProfile = false, ""
			if r.VRF != "" {
				pending = append(pending, fmt.Sprintf("%s (VRF %s)", id.name, r.VRF))
			} else {
				pending = append(pending, id.name)
			}
		}
	}
	if out == nil {
		return cfg, nil
	}
	return out, pending
}

// neighborName is how FRR names a neighbor: its address, or its interface
// when unnumbered.
func neighborName(n *frrconfig.Neighbor) string {
	if n.Interface != "" {
		return n.Interface
	}
	return n.Address.String()
}

// waitingForSession reports whether cfg has a neighbor with BFD that is not
// in connected.
func waitingForSession(cfg *frrconfig.Config, connected map[neighborID]bool) bool {
	for i := range cfg.Routers {
		for j := range cfg.Routers[i].Neighbors {
			n := &cfg.Routers[i].Neighbors[j]
			if n.BFD && !connected[neighborID{cfg.Routers[i].VRF, neighborName(n)}] {
				return true
			}
		}
	}
	return false
}

// parseConnected reads `show bgp vrf all neighbors json`: how many times
// bgpd has seen each neighbor's session established since it started or
// since the neighbor was configured (connectionsEstablished).
func parseConnected(out []byte) (map[neighborID]int, error) {
	var vrfs map[string]map[string]json.RawMessage
	if err := json.Unmarshal(out, &vrfs); err != nil {
		return nil, fmt.Errorf("parsing bgp neighbors: %w", err)
	}
	m := map[neighborID]int{}
	for vrf, fields := range vrfs {
		if vrf == "default" {
			vrf = ""
		}
		for name, raw := range fields {
			if len(raw) == 0 || raw[0] != '{' {
				continue // vrfId, vrfName
			}
			var n struct {
				ConnectionsEstablished int `json:"connectionsEstablished"`
			}
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, fmt.Errorf("parsing bgp neighbor %s: %w", name, err)
			}
			m[neighborID{vrf, name}] = n.ConnectionsEstablished
		}
	}
	return m, nil
}

// connectedNeighbors asks bgpd which neighbors have had a session (since
// the reset recorded in bfdBaseline, if any), and returns as well each
// neighbor's count of established sessions. It needs applyMu held.
func (a *Agent) connectedNeighbors(ctx context.Context) (map[neighborID]bool, map[neighborID]int, error) {
	out, err := a.show(ctx, "bgpd", "show bgp vrf all neighbors json")
	if err != nil {
		return nil, nil, fmt.Errorf("reading bgp neighbors: %w", err)
	}
	counts, err := parseConnected([]byte(out))
	if err != nil {
		return nil, nil, err
	}
	a.forgetStaleBaseline()
	return a.connectedSince(counts), counts, nil
}

// forgetStaleBaseline drops bfdBaseline when it was recorded for another
// bgpd process. A restarted bgpd counts every neighbor's sessions from 0:
// a baseline of 1 kept from before would make a neighbor whose first
// session is up by the time the agent looks (count 1, not above 1) wait
// for a second session, with its BFD off, for ever. (Without a pid file
// connectedSince still voids a baseline above the count it sees.)
func (a *Agent) forgetStaleBaseline() {
	if len(a.bfdBaseline) == 0 {
		return
	}
	if pid := a.bgpdPIDNow(); pid != 0 && pid != a.bfdBaselinePID {
		a.bfdBaseline = nil
	}
}

// connectedSince returns the neighbors whose count of established
// sessions is above their bfdBaseline (0 unless a reset set it).
func (a *Agent) connectedSince(counts map[neighborID]int) map[neighborID]bool {
	m := make(map[neighborID]bool, len(counts))
	for id, n := range counts {
		b := a.bfdBaseline[id]
		if n < b {
			// Counted again from 0: bgpd restarted or the neighbor was
			// configured anew; the baseline is void.
			delete(a.bfdBaseline, id)
			b = 0
		}
		if n > b {
			m[id] = true
		}
	}
	return m
}

// deferResetBFD makes the BFD of every neighbor that resets wait for its
// next session as for a first one: the count of established sessions it
// has now becomes its baseline. It reports whether a neighbor that counted
// as connected no longer does. It needs applyMu held.
//
// On FRR 10.3 a neighbor whose BFD is configured and down when its session
// resets stays Idle (peer_active is false while bgpd still counts the
// session established and BFD down, so no start timer is set), and a peer
// that runs BFD only with established neighbors (a `bgp listen range`)
// never brings that BFD session up again: the session stayed down for
// minutes after a reset herald made. Without BFD lines, the neighbor
// restarts at once; its BFD is added when the new session is up.
func (a *Agent) deferResetBFD(resets []frrconfig.SessionReset, counts map[neighborID]int) bool {
	changed := false
	for _, r := range resets {
		id := neighborID{vrf: r.VRF, name: r.Neighbor}
		if n, ok := counts[id]; ok && n > a.bfdBaseline[id] {
			if a.bfdBaseline == nil {
				a.bfdBaseline = map[neighborID]int{}
				a.bfdBaselinePID = a.bgpdPIDNow()
			}
			a.bfdBaseline[id] = n
			changed = true
		}
	}
	return changed
}

// enableWaitingBFD re-applies the last requested config when a neighbor
// whose BFD waited has had its first session, so FRR now gets its BFD
// lines. It reports whether some neighbor still waits.
//
// It holds applyMu from reading the last config to re-applying it, so a
// newer config given meanwhile is never replaced by this older one; while
// an apply runs it does nothing (that apply looks at the sessions itself).
func (a *Agent) enableWaitingBFD(ctx context.Context) bool {
	last := a.lastGood()
	if last == nil || len(last.bfdPending) == 0 {
		return false
	}
	if !a.applyMu.TryLock() {
		return true
	}
	defer a.applyMu.Unlock()
	if last = a.lastGood(); last == nil || len(last.bfdPending) == 0 {
		return false
	}
	connected, _, err := a.connectedNeighbors(ctx)
	if err != nil {
		return true // bgpd is down or restarting; look again
	}
	_, pending := withBFDDeferred(last.requested, connected)
	if len(pending) == len(last.bfdPending) {
		return true
	}
	res := a.applyLocked(ctx, ApplyRequest{Generation: last.gen, Config: last.requested})
	if !res.Success {
		a.log.Info("turning BFD on after the first session failed", "generation", last.gen, "error", res.Error)
	}
	return len(res.BFDPending) > 0 || !res.Success
}

// withSessionsNew returns the config FRR must be given when bgpd has seen
// no session yet (it restarted): the requested config with the BFD of every
// neighbor waiting. A config applied from a rendered file is returned as
// it is.
func (ap *applied) withSessionsNew() (*applied, error) {
	if ap.requested == nil {
		return ap, nil
	}
	cfg, pending := withBFDDeferred(ap.requested, nil)
	plan, err := frrconfig.NewPlan(cfg)
	if err != nil {
		return ap, fmt.Errorf("rendering the config: %w", err)
	}
	text := plan.Text()
	sum := sha256.Sum256(text)
	return &applied{gen: ap.gen, requested: ap.requested, bfdPending: pending, plan: plan, text: text,
		hash: hex.EncodeToString(sum[:]), norm: frrconfig.Normalize(text), hasBGP: ap.hasBGP}, nil
}
