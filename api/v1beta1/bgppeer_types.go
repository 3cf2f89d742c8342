package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DynamicASNMode says which kind of session a peer with no fixed ASN is.
//
// +kubebuilder:validation:Enum=internal;external
type DynamicASNMode string

const (
	// DynamicASNInternal accepts any peer ASN equal to myASN (iBGP).
	DynamicASNInternal DynamicASNMode = "internal"
	// DynamicASNExternal accepts any peer ASN other than myASN (eBGP).
	DynamicASNExternal DynamicASNMode = "external"
)

// BGPPeerSpec is one BGP session each selected node opens, with MetalLB's
// field names and meanings.
//
// +kubebuilder:validation:XValidation:rule="has(self.peerASN) != has(self.dynamicASN)",message="spec.peerASN and spec.dynamicASN: set exactly one: peerASN for a fixed peer ASN, or dynamicASN (internal or external) to accept any"
// +kubebuilder:validation:XValidation:rule="has(self.peerAddress) != has(self.interface)",message="spec.peerAddress and spec.interface: set exactly one: peerAddress for a numbered session, or interface for an unnumbered one"
// +kubebuilder:validation:XValidation:rule="!has(self.ebgpMultiHop) || !self.ebgpMultiHop || !((has(self.peerASN) && self.peerASN == self.myASN) || (has(self.dynamicASN) && self.dynamicASN == 'internal'))",fieldPath=".ebgpMultiHop",message="spec.ebgpMultiHop: only applies to eBGP; this peer is iBGP (peerASN equals myASN or dynamicASN is internal): remove ebgpMultiHop"
// +kubebuilder:validation:XValidation:rule="!has(self.keepaliveTime) || !self.keepaliveTime.matches('^([0-9]+([.][0-9]+)?(ms|s|m|h))+$') || (has(self.holdTime) && !self.holdTime.matches('^([0-9]+([.][0-9]+)?(ms|s|m|h))+$')) || duration(self.keepaliveTime) <= duration(has(self.holdTime) ? self.holdTime : '90s')",fieldPath=".keepaliveTime",message="spec.keepaliveTime: must not exceed spec.holdTime (90s when unset; 0s disables keepalives, and then keepaliveTime must be 0s too): lower keepaliveTime or raise holdTime"
// +kubebuilder:validation:XValidation:rule="!has(self.sourceAddress) || !has(self.interface)",fieldPath=".sourceAddress",message="spec.sourceAddress: an unnumbered session (spec.interface) always uses the interface's link-local address; remove sourceAddress"
// +kubebuilder:validation:XValidation:rule="!has(self.sourceAddress) || !has(self.peerAddress) || ip(self.sourceAddress).family() == ip(self.peerAddress).family()",fieldPath=".sourceAddress",message="spec.sourceAddress: must be of the same family as spec.peerAddress"
type BGPPeerSpec struct {
	// MyASN is the local AS number the selected nodes speak as.
	//
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	// +required
	MyASN uint32 `json:"myASN"`

	// PeerASN is the AS number expected from the peer. Exactly one of
	// peerASN and dynamicASN is set.
	//
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	// +optional
	PeerASN uint32 `json:"peerASN,omitempty"`

	// DynamicASN accepts any peer ASN of one kind instead of a fixed one:
	// internal (iBGP, the peer's ASN is myASN) or external (eBGP).
	//
	// +optional
	DynamicASN DynamicASNMode `json:"dynamicASN,omitempty"`

	// PeerAddress is the peer's IP address. Exactly one of peerAddress and
	// interface is set.
	//
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self) && !ip(self).isUnspecified()",message="spec.peerAddress: must be the peer's IPv4 or IPv6 address such as 198.51.100.1 (no prefix length, no zone, not 0.0.0.0 or ::)"
	// +optional
	PeerAddress string `json:"peerAddress,omitempty"`

	// Interface names the node interface of an unnumbered (IPv6 link-local)
	// session. Exactly one of peerAddress and interface is set.
	//
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_.-]{0,14}$`
	// +optional
	Interface string `json:"interface,omitempty"`

	// SourceAddress is the local address the session is opened from.
	// Unset, the node picks one by routing.
	//
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self) && ip.isCanonical(self) && !ip(self).isUnspecified()",message="spec.sourceAddress: must be an IPv4 or IPv6 address of the node in canonical form (2001:db8::11, not 2001:DB8:0::11)"
	// +optional
	SourceAddress string `json:"sourceAddress,omitempty"`

	// PeerPort is the peer's TCP port.
	//
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:default=179
	// +optional
	PeerPort uint16 `json:"peerPort,omitempty"`

	// HoldTime is the BGP hold time offered to the peer: 0s (no keepalives)
	// or 3s to 65535s. FRR counts whole seconds; a fraction is dropped.
	//
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ms|s|m|h))+$') || duration(self) == duration('0s') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",message="spec.holdTime: must be 0s (keepalives off) or between 3s (RFC 4271's minimum) and 65535s"
	// +kubebuilder:default="90s"
	// +optional
	HoldTime *metav1.Duration `json:"holdTime,omitempty"`

	// KeepaliveTime is the interval between keepalives; at most holdTime.
	// Unset, a third of holdTime.
	//
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	KeepaliveTime *metav1.Duration `json:"keepaliveTime,omitempty"`

	// ConnectTime is how long to wait between attempts to connect to the
	// peer, 1s to 65535s. Unset, FRR's default (120s).
	//
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ms|s|m|h))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('65535s'))",message="spec.connectTime: must be between 1s and 65535s"
	// +optional
	ConnectTime *metav1.Duration `json:"connectTime,omitempty"`

	// RouterID is the BGP router ID (an IPv4 address) the nodes use for
	// this session. Unset, FRR picks one.
	//
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:XValidation:rule="isIP(self) && ip(self).family() == 4 && !ip(self).isUnspecified()",message="spec.routerID: must be an IPv4 address such as 198.51.100.11 (not 0.0.0.0)"
	// +optional
	RouterID string `json:"routerID,omitempty"`

	// NodeSelectors choose the nodes that open this session; a node matching
	// any selector does. Empty, every node does.
	//
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// PasswordSecret names a Secret of type kubernetes.io/basic-auth in
	// herald's namespace whose "password" key is the session's TCP-MD5
	// password. herald never takes a plain password in the object.
	//
	// +optional
	PasswordSecret *corev1.SecretReference `json:"passwordSecret,omitempty"`

	// BFDProfile names the BFDProfile (in herald's namespace) of the BFD
	// session that guards this BGP session. Empty, no BFD.
	//
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	BFDProfile string `json:"bfdProfile,omitempty"`

	// EBGPMultiHop lets an eBGP peer be more than one hop away. Not allowed
	// with iBGP, where it does not apply.
	//
	// +optional
	EBGPMultiHop bool `json:"ebgpMultiHop,omitempty"`

	// VRF is the name of the VRF the session runs in. Empty, the default VRF.
	//
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_.-]{0,14}$`
	// +kubebuilder:validation:XValidation:rule="self != 'default'",message="spec.vrf: leave it empty for the default VRF rather than naming it default"
	// +optional
	VRF string `json:"vrf,omitempty"`

	// EnableGracefulRestart turns on BGP graceful restart (RFC 4724) for
	// the session, so the peer keeps the routes while the speaker restarts.
	//
	// +optional
	EnableGracefulRestart bool `json:"enableGracefulRestart,omitempty"`
}

// BGPPeerStatus is what the controller reports about a peer. Each node's
// session with it is in that node's NodeState.
type BGPPeerStatus struct {
	// Conditions tell whether the peer is usable and, if not, why (e.g.
	// its BFD profile or password Secret does not exist).
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BGPPeer is a BGP neighbour the selected nodes announce Service addresses
// to. It lives in herald's own namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=herald
// +kubebuilder:printcolumn:name="Peer Address",type=string,JSONPath=`.spec.peerAddress`
// +kubebuilder:printcolumn:name="Interface",type=string,JSONPath=`.spec.interface`,priority=1
// +kubebuilder:printcolumn:name="My ASN",type=integer,JSONPath=`.spec.myASN`
// +kubebuilder:printcolumn:name="Peer ASN",type=integer,JSONPath=`.spec.peerASN`
// +kubebuilder:printcolumn:name="Dynamic ASN",type=string,JSONPath=`.spec.dynamicASN`,priority=1
// +kubebuilder:printcolumn:name="BFD Profile",type=string,JSONPath=`.spec.bfdProfile`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPPeer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the session's parameters.
	//
	// +required
	Spec BGPPeerSpec `json:"spec"`

	// Status is written by the controller.
	//
	// +optional
	Status BGPPeerStatus `json:"status,omitempty"`
}

// BGPPeerList is a list of BGPPeers.
//
// +kubebuilder:object:root=true
type BGPPeerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPPeer `json:"items"`
}
