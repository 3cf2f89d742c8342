package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FRRApplyResult is the outcome of giving FRR a new configuration.
//
// +kubebuilder:validation:Enum=Applied;Rejected;Failed;Progressing
type FRRApplyResult string

const (
	// FRRApplied means FRR runs the new configuration.
	FRRApplied FRRApplyResult = "Applied"
	// FRRRejected means FRR refused the configuration (see RejectedLines);
	// the last good one keeps running.
	FRRRejected FRRApplyResult = "Rejected"
	// FRRFailed means the configuration could not be applied for another
	// reason (agent unreachable, reload error); see Message.
	FRRFailed FRRApplyResult = "Failed"
	// FRRProgressing means FRR runs a step towards the configuration: the
	// speaker adds many new BGP neighbors a few per apply (so that bgpd
	// keeps serving Service changes and BFD meanwhile), and this step has
	// the plan's prefixes and changes and only some of its new neighbors
	// (Message says how many); the next step follows at once.
	FRRProgressing FRRApplyResult = "Progressing"
)

// FRRApplyMethod is how a configuration reached FRR.
//
// +kubebuilder:validation:Enum=Incremental;Reload
type FRRApplyMethod string

const (
	// FRRIncremental means the difference was applied as vtysh commands.
	FRRIncremental FRRApplyMethod = "Incremental"
	// FRRReload means frr-reload.py --reload replaced the configuration.
	FRRReload FRRApplyMethod = "Reload"
)

// FRRConfigStatus is the last attempt to apply an FRR configuration on the
// node.
type FRRConfigStatus struct {
	// Generation counts the configurations the speaker has rendered since
	// it started; this status is about that one.
	//
	// +kubebuilder:validation:Minimum=0
	Generation int64 `json:"generation"`

	// Hash identifies the rendered configuration (hex SHA-256 of frr.conf).
	//
	// +optional
	Hash string `json:"hash,omitempty"`

	// RunningHash is the hash of the configuration FRR runs now: Hash after
	// a success, the last good one after a rejection.
	//
	// +optional
	RunningHash string `json:"runningHash,omitempty"`

	// Result is Applied, Rejected, Failed or Progressing.
	Result FRRApplyResult `json:"result"`

	// Method is how the configuration was applied: Incremental or Reload.
	//
	// +optional
	Method FRRApplyMethod `json:"method,omitempty"`

	// Duration is how long validating and applying took.
	//
	// +kubebuilder:validation:Type=string
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// RejectedLines are the configuration lines FRR refused, with its
	// complaint, when Result is Rejected.
	//
	// +kubebuilder:validation:MaxItems=100
	// +optional
	RejectedLines []string `json:"rejectedLines,omitempty"`

	// Message explains a failure in words.
	//
	// +optional
	Message string `json:"message,omitempty"`

	// SessionResets name the BGP sessions this configuration reset (FRR
	// closed and reopened them, and their peers withdrew the session's
	// routes meanwhile), one "neighbor: what changed" each: a peer's ASN,
	// password, port, source, multihop, graceful restart or address
	// families. A Service change never resets a session.
	//
	// +kubebuilder:validation:MaxItems=100
	// +optional
	SessionResets []string `json:"sessionResets,omitempty"`

	// Time is when the attempt finished.
	Time metav1.Time `json:"time"`
}

// BGPSessionStatus is one BGP session of the node, as FRR reports it.
type BGPSessionStatus struct {
	// Peer is the neighbour's address, or the interface of an unnumbered
	// session.
	Peer string `json:"peer"`

	// PeerName is the BGPPeer object the session comes from.
	//
	// +optional
	PeerName string `json:"peerName,omitempty"`

	// VRF is the VRF of the session; empty, the default one.
	//
	// +optional
	VRF string `json:"vrf,omitempty"`

	// State is the BGP finite-state-machine state: Idle, Connect, Active,
	// OpenSent, OpenConfirm or Established.
	State string `json:"state"`

	// UpSince is when the session was last established (its uptime is now
	// minus this); unset while it is not Established. A time rather than a
	// duration, so that the status does not change every second.
	//
	// +optional
	UpSince *metav1.Time `json:"upSince,omitempty"`

	// PrefixesSent is the number of prefixes advertised to the peer.
	//
	// +optional
	PrefixesSent int64 `json:"prefixesSent,omitempty"`

	// PrefixesReceived is the number of prefixes received from the peer.
	//
	// +optional
	PrefixesReceived int64 `json:"prefixesReceived,omitempty"`
}

// BFDPeerStatus is one BFD session of the node, as FRR reports it.
type BFDPeerStatus struct {
	// Peer is the neighbour's address.
	Peer string `json:"peer"`

	// VRF is the VRF of the session; empty, the default one.
	//
	// +optional
	VRF string `json:"vrf,omitempty"`

	// Interface is the local interface of a single-hop session.
	//
	// +optional
	Interface string `json:"interface,omitempty"`

	// State is up, down, init or adminDown.
	State string `json:"state"`

	// ReceiveInterval is the negotiated receive interval, in ms.
	//
	// +optional
	ReceiveInterval int64 `json:"receiveInterval,omitempty"`

	// TransmitInterval is the negotiated transmit interval, in ms.
	//
	// +optional
	TransmitInterval int64 `json:"transmitInterval,omitempty"`

	// EchoInterval is the echo interval in use, in ms; 0 without echo.
	//
	// +optional
	EchoInterval int64 `json:"echoInterval,omitempty"`

	// DetectMultiplier is the peer's detection multiplier.
	//
	// +optional
	DetectMultiplier int64 `json:"detectMultiplier,omitempty"`
}

// BGPAnnouncement is what the node announces to one BGP peer.
type BGPAnnouncement struct {
	// Peer is the neighbour's address, or the interface of an unnumbered
	// session.
	Peer string `json:"peer"`

	// VRF is the VRF of the session; empty, the default one.
	//
	// +optional
	VRF string `json:"vrf,omitempty"`

	// Prefixes are the announced prefixes, in CIDR notation, sorted.
	//
	// +optional
	Prefixes []string `json:"prefixes,omitempty"`
}

// L2Announcement is one address the node answers ARP or NDP for.
type L2Announcement struct {
	// IP is the Service address.
	IP string `json:"ip"`

	// Interface is the node interface the answers are given on.
	Interface string `json:"interface"`
}

// IPConflict is a Service IP this node should announce that another host
// holds.
type IPConflict struct {
	// IP is the Service address.
	IP string `json:"ip"`

	// Mode is L2 (another MAC answers ARP/NDP for the IP) or BGP (the IP
	// is on one of the node's interfaces, put there by something else).
	//
	// +kubebuilder:validation:Enum=L2;BGP
	Mode string `json:"mode"`

	// Interface is where the other host was seen (L2), or the interface
	// holding the IP (BGP).
	//
	// +optional
	Interface string `json:"interface,omitempty"`

	// MAC is the other host's MAC (L2).
	//
	// +optional
	MAC string `json:"mac,omitempty"`

	// Announcing is true when the node still announces the IP: the other
	// host claimed it while the node answered for it (L2), and the node
	// keeps answering rather than fight over it.
	//
	// +optional
	Announcing bool `json:"announcing,omitempty"`
}

// DrainStatus is a node's drain: why, where it is, and how long each step
// took.
type DrainStatus struct {
	// Phase is Draining while the node announces in graceful shutdown
	// (BGP) or hands its Layer 2 addresses over, Drained once it
	// announces nothing.
	//
	// +kubebuilder:validation:Enum=Draining;Drained
	Phase string `json:"phase"`

	// Reason says why the node drains, e.g. "it is cordoned".
	Reason string `json:"reason"`

	// Since is when the node started draining.
	Since metav1.Time `json:"since"`

	// Steps are the steps done so far, in order.
	//
	// +optional
	Steps []DrainStep `json:"steps,omitempty"`
}

// The phases and steps of a DrainStatus.
const (
	DrainPhaseDraining = "Draining"
	DrainPhaseDrained  = "Drained"
	// DrainStepGracefulShutdown: FRR runs the config in graceful
	// shutdown (from the drain's start).
	DrainStepGracefulShutdown = "GracefulShutdown"
	// DrainStepWait: the routers move off while the prefixes stay.
	DrainStepWait = "Wait"
	// DrainStepWithdraw: FRR runs the config with no prefixes.
	DrainStepWithdraw = "Withdraw"
	// DrainStepL2Handover: the node answers for no Layer 2 address any
	// more, their next owners having taken them (from the drain's start).
	DrainStepL2Handover = "L2Handover"
)

// DrainStep is one step of a drain.
type DrainStep struct {
	// Name is GracefulShutdown, Wait, Withdraw or L2Handover.
	Name string `json:"name"`

	// Duration is how long the step took.
	Duration metav1.Duration `json:"duration"`

	// Done is when it ended.
	Done metav1.Time `json:"done"`
}

// HealthGate is one Service whose health check gates this node.
type HealthGate struct {
	// Service is the Service, namespace/name.
	Service string `json:"service"`

	// Reason is the last failed probe's error.
	Reason string `json:"reason"`

	// Since is when the node became gated.
	Since metav1.Time `json:"since"`

	// Announcing is true when the node announces the Service all the
	// same: every node that would announce it is gated (fail-open).
	//
	// +optional
	Announcing bool `json:"announcing,omitempty"`
}

// NodeStateStatus is the speaker's account of its node.
type NodeStateStatus struct {
	// FRR is the last attempt to apply an FRR configuration.
	//
	// +optional
	FRR *FRRConfigStatus `json:"frr,omitempty"`

	// BGPSessions are the node's BGP sessions.
	//
	// +optional
	BGPSessions []BGPSessionStatus `json:"bgpSessions,omitempty"`

	// SessionsUp is the number of BGPSessions that are Established.
	//
	// +optional
	SessionsUp int32 `json:"sessionsUp,omitempty"`

	// BFDPeers are the node's BFD sessions.
	//
	// +optional
	BFDPeers []BFDPeerStatus `json:"bfdPeers,omitempty"`

	// BGPAnnouncements are the prefixes announced, per peer.
	//
	// +optional
	BGPAnnouncements []BGPAnnouncement `json:"bgpAnnouncements,omitempty"`

	// L2Announcements are the addresses this node answers ARP/NDP for.
	//
	// +optional
	L2Announcements []L2Announcement `json:"l2Announcements,omitempty"`

	// IPConflicts are the Service IPs this node should announce that
	// another host holds; it does not announce them (unless Announcing).
	//
	// +optional
	IPConflicts []IPConflict `json:"ipConflicts,omitempty"`
	// Drain is the node's drain while it drains or is drained (cordoned,
	// a drain taint, the exclude label, its speaker stopping); absent
	// otherwise.
	//
	// +optional
	Drain *DrainStatus `json:"drain,omitempty"`

	// HealthGated are the Services whose health check
	// (heraldlb.io/health-check) fails on this node's endpoints, so that
	// the node does not announce them (unless every node is gated: then
	// Announcing is true, fail-open).
	//
	// +listType=map
	// +listMapKey=service
	// +optional
	HealthGated []HealthGate `json:"healthGated,omitempty"`

	// Conditions summarise the node's health as herald sees it.
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// NodeState is what one node's speaker does: the FRR configuration it
// applied, its BGP and BFD sessions and what it announces. There is one per
// node, named after the node, cluster-scoped, written only by that node's
// speaker (through the status subresource).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=herald
// +kubebuilder:printcolumn:name="FRR Generation",type=integer,JSONPath=`.status.frr.generation`
// +kubebuilder:printcolumn:name="FRR Result",type=string,JSONPath=`.status.frr.result`
// +kubebuilder:printcolumn:name="Method",type=string,JSONPath=`.status.frr.method`,priority=1
// +kubebuilder:printcolumn:name="Sessions Up",type=integer,JSONPath=`.status.sessionsUp`
// +kubebuilder:printcolumn:name="Drain",type=string,JSONPath=`.status.drain.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NodeState struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Status is written by the node's speaker.
	//
	// +optional
	Status NodeStateStatus `json:"status,omitempty"`
}

// NodeStateList is a list of NodeStates.
//
// +kubebuilder:object:root=true
type NodeStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodeState `json:"items"`
}
