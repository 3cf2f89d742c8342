package frragent

import (
	"time"

	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
)

// Paths of the agent's HTTP API on its unix socket.
const (
	// ApplyPath takes a POSTed ApplyRequest and answers a Result.
	ApplyPath = "/v1/apply"
	// StatePath answers a GET with State.
	StatePath = "/v1/state"
)

// ApplyRequest asks the agent to make FRR run a config.
type ApplyRequest struct {
	// Generation identifies this config for the caller (for example the
	// speaker's counter); it is returned in the Result and State.
	Generation int64 `json:"generation"`
	// Config is the model to apply. When it is set, the agent renders it
	// and can apply it incrementally (frrconfig.Diff).
	Config *frrconfig.Config `json:"config,omitempty"`
	// Rendered is a whole frr.conf, used when Config is nil; it is always
	// applied by a full reload (there is no model to diff).
	Rendered string `json:"rendered,omitempty"`
}

// Method is how a config was applied.
type Method string

// The methods.
const (
	// MethodIncremental applied frrconfig.Diff's commands in one vtysh session.
	MethodIncremental Method = "incremental"
	// MethodReload applied the whole file with frr-reload.py --reload.
	MethodReload Method = "reload"
	// MethodNone changed nothing: FRR already ran the config.
	MethodNone Method = "none"
)

// Result is the outcome of one apply.
type Result struct {
	// Generation is the request's generation.
	Generation int64 `json:"generation"`
	// Method is how the config was (or was being) applied; for a config
	// refused before anything changed it is the method that would have
	// been used.
	Method Method `json:"method"`
	// Duration is the time from receiving the request to answering it.
	Duration time.Duration `json:"duration"`
	// Success says that FRR now runs exactly the rendered config.
	Success bool `json:"success"`
	// Rejected lists the lines FRR refused; line numbers are those of the
	// rendered file (Rendered).
	Rejected []vtysh.RejectedLine `json:"rejected,omitempty"`
	// Error says why the apply failed; empty on success.
	Error string `json:"error,omitempty"`
	// Hash is the SHA-256 (hex) of the rendered file.
	Hash string `json:"hash,omitempty"`
	// Commands is the number of vtysh commands of an incremental apply.
	Commands int `json:"commands,omitempty"`
	// Phases is the time spent in each step (render, check, diff, apply,
	// verify, reload, write), to see where an apply spends its time.
	Phases map[string]time.Duration `json:"phases,omitempty"`
	// SessionResets are the BGP sessions this change resets (FRR tears
	// them down and opens them again; their peers withdraw the session's
	// routes meanwhile) — or would have reset, when the apply failed.
	// Service changes never reset a session.
	SessionResets []frrconfig.SessionReset `json:"sessionResets,omitempty"`
	// BFDPending are the neighbors whose BFD FRR gets once their BGP
	// session has come up a first time (FRR remakes a BFD session
	// configured earlier as the BGP session opens, which takes the new
	// session down); the agent adds it within a fraction of a second of
	// that. Hash is the hash of the file with their BFD lines left out.
	BFDPending []string `json:"bfdPending,omitempty"`
	// Rendered is the rendered file, returned only when FRR rejected
	// lines of it, so that the line numbers can be read.
	Rendered string `json:"rendered,omitempty"`
}

// State is what FRR runs and how its sessions are.
type State struct {
	// Generation is the generation of the last config applied with success
	// (0 before the first).
	Generation int64 `json:"generation"`
	// Hash is the SHA-256 of that config's rendered file.
	Hash string `json:"hash,omitempty"`
	// LastApply is the result of the last apply, successful or not.
	LastApply *Result `json:"lastApply,omitempty"`
	// Sessions are the BGP sessions of every VRF.
	Sessions []vtysh.BGPSession `json:"sessions"`
	// BFDPeers are the BFD sessions.
	BFDPeers []vtysh.BFDPeer `json:"bfdPeers"`
	// Advertised are the prefixes sent to each established neighbor, per
	// address family.
	Advertised []NeighborRoutes `json:"advertised"`
}

// NeighborRoutes are the prefixes advertised to one neighbor in one address
// family.
type NeighborRoutes struct {
	VRF      string                  `json:"vrf"`
	Neighbor string                  `json:"neighbor"`
	Family   string                  `json:"family"`
	Routes   []vtysh.AdvertisedRoute `json:"routes"`
}
