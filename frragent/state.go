package frragent

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldlb/herald/frragent/vtysh"
)

// State reads FRR's BGP sessions, BFD peers and the prefixes advertised to
// each established neighbor: from bgpd's and bfdd's vty sockets when
// Options.VtyDir is set, else with vtysh.
func (a *Agent) State(ctx context.Context) (State, error) {
	var st State
	a.mu.Lock()
	if a.last != nil {
		st.Generation, st.Hash = a.last.gen, a.last.hash
	}
	if a.lastResult != nil {
		r := *a.lastResult
		st.LastApply = &r
	}
	a.mu.Unlock()

	out, err := a.stateShow(ctx, "bgpd", "show bgp vrf all summary json")
	if err != nil {
		return st, fmt.Errorf("reading bgp sessions: %w", err)
	}
	if st.Sessions, err = vtysh.ParseBGPSummary([]byte(out)); err != nil {
		return st, err
	}
	out, err = a.stateShow(ctx, "bfdd", "show bfd peers json")
	if err != nil {
		return st, fmt.Errorf("reading bfd peers: %w", err)
	}
	if st.BFDPeers, err = vtysh.ParseBFDPeers([]byte(out)); err != nil {
		return st, err
	}
	st.Advertised = []NeighborRoutes{}
	for _, s := range st.Sessions {
		if !s.Established {
			continue
		}
		for _, f := range s.Families {
			afi, ok := familyWords(f.Family)
			if !ok {
				continue
			}
			out, err := a.stateShow(ctx, "bgpd", fmt.Sprintf("show bgp vrf %s %s neighbors %s advertised-routes json", s.VRF, afi, s.Peer))
			if err != nil {
				return st, fmt.Errorf("reading routes advertised to %s (vrf %s): %w", s.Peer, s.VRF, err)
			}
			routes, err := vtysh.ParseAdvertisedRoutes([]byte(out))
			if err != nil {
				return st, fmt.Errorf("routes advertised to %s (vrf %s): %w", s.Peer, s.VRF, err)
			}
			st.Advertised = append(st.Advertised, NeighborRoutes{VRF: s.VRF, Neighbor: s.Peer, Family: f.Family, Routes: routes})
		}
	}
	return st, nil
}

// familyWords turns FRR's JSON family key ("ipv4Unicast") into the words of
// a show command ("ipv4 unicast").
func familyWords(key string) (string, bool) {
	for _, afi := range []string{"ipv4", "ipv6"} {
		if rest, ok := strings.CutPrefix(key, afi); ok && rest != "" {
			return afi + " " + strings.ToLower(rest), true
		}
	}
	return "", false
}
