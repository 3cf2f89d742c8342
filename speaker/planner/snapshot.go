package planner

import (
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
)

// ExcludeLabel marks a node that announces nothing.
const ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

// PasswordKey is the key of a BGPPeer's password Secret holding the password.
const PasswordKey = "password"

// Snapshot is the cluster state the planner reads. Lists need not be sorted.
type Snapshot struct {
	// Namespace is herald's namespace: password Secrets with no namespace
	// are looked up there.
	Namespace string
	// LBClass is the spec.loadBalancerClass served; "" serves Services
	// with no class.
	LBClass string

	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	Nodes          []corev1.Node
	// Secrets are the Secrets BGPPeers may reference (herald's namespace).
	Secrets []corev1.Secret

	Pools             []v1beta1.IPAddressPool
	Peers             []v1beta1.BGPPeer
	BFDProfiles       []v1beta1.BFDProfile
	BGPAdvertisements []v1beta1.BGPAdvertisement
	L2Advertisements  []v1beta1.L2Advertisement
	Communities       []v1beta1.Community

	// LastGood holds the last good version of objects that may be broken
	// now; pass Result.LastGood of the previous Plan. Zero is fine.
	LastGood LastGood

	// Now is the time drill annotations are judged at (drill.go); zero
	// honours none.
	Now time.Time
	// DrainTaints are the keys of the NoSchedule and NoExecute taints
	// that make a node drain (see DrainReason); nil means
	// DefaultDrainTaints, an empty non-nil slice none.
	DrainTaints []string
	// HealthGates are the nodes whose health check gates each Service
	// (see health.go); nil gates nothing.
	HealthGates HealthGates
	// Stopping says the planned node's speaker is stopping: the node
	// drains (BGP; Layer 2 hands its IPs over through the membership).
	Stopping bool
}

// LastGood holds resolved objects by name, so that an object broken by an
// edit (or by an object it references) keeps announcing what it did.
type LastGood struct {
	// Peers are resolved BGPPeers by name.
	Peers map[string]Peer
	// Advertisements are resolved BGPAdvertisements by name.
	Advertisements map[string]Advertisement
	// L2Advertisements are L2Advertisements by name.
	L2Advertisements map[string]v1beta1.L2Advertisement
	// Pools are the IPAddressPools last in effect, by name.
	Pools map[string]v1beta1.IPAddressPool
}

// Peer is a BGPPeer resolved against its BFDProfile and password Secret.
type Peer struct {
	// Name is the BGPPeer's name.
	Name string
	// Spec is the BGPPeer's spec.
	Spec v1beta1.BGPPeerSpec
	// Neighbor is the neighbor it gives, without Advertise.
	Neighbor frrconfig.Neighbor
	// BFDProfile is the profile the neighbor refers to, if any.
	BFDProfile *frrconfig.BFDProfile
	// IBGP is whether the session is internal (local-pref is sent).
	IBGP bool
}

// Advertisement is a BGPAdvertisement with its communities resolved.
type Advertisement struct {
	// Name is the BGPAdvertisement's name.
	Name string
	// Spec is the BGPAdvertisement's spec.
	Spec v1beta1.BGPAdvertisementSpec
	// Communities and LargeCommunities are in frrconfig's spelling.
	Communities      []string
	LargeCommunities []string
	// AggregationLength and AggregationLengthV6 with defaults applied.
	AggregationLength, AggregationLengthV6 int
}

// Kinds of the objects Problems are about.
const (
	KindBGPPeer          = "BGPPeer"
	KindBGPAdvertisement = "BGPAdvertisement"
	KindL2Advertisement  = "L2Advertisement"
	KindBFDProfile       = "BFDProfile"
	KindCommunity        = "Community"
)

// Reasons of Problems (condition and event reasons).
const (
	ReasonUnknownBFDProfile     = "UnknownBFDProfile"
	ReasonMissingPassword       = "MissingPasswordSecret"
	ReasonInvalidPassword       = "InvalidPassword"
	ReasonUnknownPool           = "UnknownPool"
	ReasonUnknownPeer           = "UnknownPeer"
	ReasonUnknownCommunity      = "UnknownCommunity"
	ReasonInvalidCommunity      = "InvalidCommunity"
	ReasonConflictingCommunity  = "ConflictingCommunityAlias"
	ReasonAggregationLength     = "InvalidAggregationLength"
	ReasonLocalPrefConflict     = "LocalPrefConflict"
	ReasonASNConflict           = "ASNConflict"
	ReasonRouterIDConflict      = "RouterIDConflict"
	ReasonInvalidBFDProfile     = "InvalidBFDProfile"
	ReasonInvalidPeer           = "InvalidPeer"
	ReasonInvalidPoolAddress    = "InvalidPoolAddress"
	ReasonInvalidNodeSelector   = "InvalidSelector"
	ReasonDuplicatePeerNeighbor = "DuplicateNeighbor"
)

// Problem is one cross-object mistake.
type Problem struct {
	// Kind and Name are the object the problem is about.
	Kind, Name string
	// Field is the field at fault, e.g. "spec.bfdProfile".
	Field string
	// Reason is a CamelCase reason for conditions and events.
	Reason string
	// Message says what is wrong and how to fix it.
	Message string
	// Effect says what herald does meanwhile (e.g. "keeping its last good
	// version"), filled by the planner.
	Effect string
}

// String renders the problem for logs and status.
func (p Problem) String() string {
	s := fmt.Sprintf("%s %s: %s: %s", p.Kind, p.Name, p.Field, p.Message)
	if p.Effect != "" {
		s += " (" + p.Effect + ")"
	}
	return s
}

// NeighborPlan is what one neighbor of this node is given, for NodeState
// and metrics.
type NeighborPlan struct {
	// Peer is the BGPPeer's name.
	Peer string
	// Key is the neighbor's address or interface, as FRR names it.
	Key string
	// VRF is the VRF ("" for the default).
	VRF string
	// Prefixes are the prefixes advertised to it, sorted.
	Prefixes []netip.Prefix
}

// L2Service is one IP announced in Layer 2 mode.
type L2Service struct {
	// IP is the Service IP.
	IP netip.Addr
	// Services are the Services (namespace/name) holding the IP.
	Services []string
	// Nodes are the nodes eligible to answer for it, sorted.
	Nodes []string
	// Interfaces are where this node answers (empty: the default choice).
	Interfaces []string
}

// Result is what Plan decides for one node.
type Result struct {
	// Config is the node's FRR model.
	Config frrconfig.Config
	// Neighbors describes each neighbor and its prefixes, sorted by VRF and key.
	Neighbors []NeighborPlan
	// L2 are the IPs announced in Layer 2 mode (cluster-wide eligibility,
	// this node's interfaces), sorted by IP.
	L2 []L2Service
	// Problems are the cross-object mistakes found, sorted.
	Problems []Problem
	// LastGood is what to pass as Snapshot.LastGood next time.
	LastGood LastGood
	// Drills are the Services this node gives up for a drill, sorted;
	// DrillsChange is when a drill in force expires (zero: none is), when
	// the plan must be made again.
	Drills       []Drilled
	DrillsChange time.Time
	// Drain says why the node drains ("" when it does not): Config is
	// then the drained config (no prefixes, graceful shutdown on) and
	// Undrained the config the node would run were it not draining.
	Drain     string
	Undrained *frrconfig.Config
	// Health lists the Services this node's health check gates (see
	// HealthGates), sorted, with whether it announces them all the same.
	Health []HealthGate
}
