package speaker

import (
	"context"
	"net/netip"
	"sort"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent"
	agentclient "github.com/heraldlb/herald/frragent/client"
	"github.com/heraldlb/herald/frrconfig"
)

// AgentClient is the Agent backed by frragent's client on a unix socket.
type AgentClient struct {
	c *agentclient.Client
}

// NewAgentClient returns an Agent talking to the frr-agent at socket.
func NewAgentClient(socket string) *AgentClient {
	return &AgentClient{c: agentclient.New(socket)}
}

// Apply implements Agent.
func (a *AgentClient) Apply(ctx context.Context, gen int64, cfg *frrconfig.Config) (ApplyResult, error) {
	r, err := a.c.Apply(ctx, gen, cfg)
	if err != nil {
		return ApplyResult{}, err
	}
	return fromAgentResult(r), nil
}

// fromAgentResult translates the agent's result into NodeState's terms.
func fromAgentResult(r frragent.Result) ApplyResult {
	out := ApplyResult{Duration: r.Duration, Hash: r.Hash, Rejected: r.Rejected, Message: r.Error}
	for _, sr := range r.SessionResets {
		out.SessionResets = append(out.SessionResets, sr.String())
	}
	switch r.Method {
	case frragent.MethodIncremental:
		out.Method = v1beta1.FRRIncremental
	case frragent.MethodReload:
		out.Method = v1beta1.FRRReload
	}
	switch {
	case r.Success:
		out.Result = v1beta1.FRRApplied
		out.RunningHash = r.Hash
	case len(r.Rejected) > 0:
		out.Result = v1beta1.FRRRejected
	default:
		out.Result = v1beta1.FRRFailed
	}
	return out
}

// Health asks the agent whether FRR's daemons answer (HealthAgent).
func (a *AgentClient) Health(ctx context.Context) (frragent.Health, error) { return a.c.Health(ctx) }

// Goodbye tells the agent the speaker withdrew and is done with it.
func (a *AgentClient) Goodbye(ctx context.Context) error { return a.c.Goodbye(ctx) }

// State implements Agent.
func (a *AgentClient) State(ctx context.Context) (AgentState, error) {
	s, err := a.c.State(ctx)
	if err != nil {
		return AgentState{}, err
	}
	return fromAgentState(s), nil
}

// fromAgentState merges the agent's per-family routes per neighbor.
func fromAgentState(s frragent.State) AgentState {
	out := AgentState{Sessions: s.Sessions, BFDPeers: s.BFDPeers}
	idx := map[string]int{}
	for _, nr := range s.Advertised {
		k := nr.VRF + "|" + nr.Neighbor
		i, ok := idx[k]
		if !ok {
			i = len(out.Advertised)
			idx[k] = i
			out.Advertised = append(out.Advertised, Advertised{VRF: nr.VRF, Peer: nr.Neighbor})
		}
		for _, r := range nr.Routes {
			out.Advertised[i].Prefixes = append(out.Advertised[i].Prefixes, r.Prefix)
		}
	}
	for i := range out.Advertised {
		ps := out.Advertised[i].Prefixes
		sort.Slice(ps, func(a, b int) bool {
			if c := ps[a].Addr().Compare(ps[b].Addr()); c != 0 {
				return c < 0
			}
			return ps[a].Bits() < ps[b].Bits()
		})
		out.Advertised[i].Prefixes = compactPrefixes(ps)
	}
	return out
}

func compactPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}
