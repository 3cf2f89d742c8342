package speaker

import (
	"context"
	"net/netip"
	"time"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
)

// Agent is the speaker's view of the frr-agent beside FRR.
type Agent interface {
	// Apply makes FRR run cfg, synchronously. An error means the agent
	// could not be asked or could not answer; a config FRR refused is a
	// result with Result Rejected.
	Apply(ctx context.Context, generation int64, cfg *frrconfig.Config) (ApplyResult, error)
	// State reads FRR's sessions, BFD peers and advertised prefixes.
	State(ctx context.Context) (AgentState, error)
}

// ApplyResult is the agent's answer to Apply.
type ApplyResult struct {
	// Result is Applied, Rejected or Failed.
	Result v1beta1.FRRApplyResult
	// Method is how the config was applied.
	Method v1beta1.FRRApplyMethod
	// Duration is how long the apply took in the agent.
	Duration time.Duration
	// Hash is the hash of the rendered config; RunningHash that of the
	// config FRR runs afterwards (the last good one after a rejection).
	Hash, RunningHash string
	// Rejected are the lines FRR refused.
	Rejected []vtysh.RejectedLine
	// Message explains a failure.
	Message string
	// SessionResets name the BGP sessions the change reset, one line each
	// ("198.51.100.1: password changed").
	SessionResets []string
}

// AgentState is what FRR reports.
type AgentState struct {
	// Sessions are the BGP sessions.
	Sessions []vtysh.BGPSession
	// BFDPeers are the BFD sessions.
	BFDPeers []vtysh.BFDPeer
	// Advertised are the prefixes sent to each neighbor.
	Advertised []Advertised
}

// Advertised is what FRR sends one neighbor.
type Advertised struct {
	// VRF is the neighbor's VRF ("" or "default" for the default VRF).
	VRF string
	// Peer is the neighbor's address or interface.
	Peer string
	// Prefixes are the prefixes advertised, sorted.
	Prefixes []netip.Prefix
}
