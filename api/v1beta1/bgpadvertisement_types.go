package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BGPAdvertisementSpec says how the addresses of some pools are announced
// over BGP, with MetalLB's field names and meanings.
//
// LocalPref: LOCAL_PREF is an iBGP attribute. herald attaches it to every
// announcement of this advertisement; FRR sends it on iBGP sessions only
// (RFC 4271 §5.1.5), so towards eBGP peers it has no effect. It is not
// rejected at admission when the selected peers are eBGP, because a CEL rule
// cannot see the BGPPeer objects; two advertisements that give the same
// prefix to the same peer with different localPref values are a conflict the
// controller reports on their status.
type BGPAdvertisementSpec struct {
	// AggregationLength is the prefix length IPv4 addresses are announced
	// with: 32 (the default) announces each address, a shorter one the
	// covering prefix.
	//
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=32
	// +kubebuilder:default=32
	// +optional
	AggregationLength *int32 `json:"aggregationLength,omitempty"`

	// AggregationLengthV6 is the same for IPv6 addresses, 0 to 128.
	//
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	// +kubebuilder:default=128
	// +optional
	AggregationLengthV6 *int32 `json:"aggregationLengthV6,omitempty"`

	// LocalPref is the BGP LOCAL_PREF of the announcements (iBGP only; see
	// the type's documentation). 0 means unset.
	//
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	// +optional
	LocalPref uint32 `json:"localPref,omitempty"`

	// Communities are attached to the announcements: standard (aa:nn),
	// large (large:a:b:c) or Community alias names.
	//
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Communities []CommunityOrAlias `json:"communities,omitempty"`

	// IPAddressPools names the pools whose addresses this advertisement
	// announces. With ipAddressPoolSelectors, a pool named or selected
	// qualifies; with neither, every pool does.
	//
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	IPAddressPools []string `json:"ipAddressPools,omitempty"`

	// IPAddressPoolSelectors select pools by label.
	//
	// +optional
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors,omitempty"`

	// NodeSelectors choose the nodes that announce; empty, every node.
	//
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Peers names the BGPPeers to announce to; empty, every peer of the
	// node.
	//
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	Peers []string `json:"peers,omitempty"`
}

// BGPAdvertisementStatus is what the controller reports about an
// advertisement.
type BGPAdvertisementStatus struct {
	// Conditions tell whether the advertisement is applied and, if not, why
	// (e.g. an unknown community alias, an aggregation length longer than a
	// pool's prefix, a localPref conflict).
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BGPAdvertisement announces the addresses of some pools to BGP peers. It
// lives in herald's own namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=herald
// +kubebuilder:printcolumn:name="Pools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="Peers",type=string,JSONPath=`.spec.peers`
// +kubebuilder:printcolumn:name="Local Pref",type=integer,JSONPath=`.spec.localPref`
// +kubebuilder:printcolumn:name="Communities",type=string,JSONPath=`.spec.communities`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPAdvertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what to announce, to whom and how.
	//
	// +kubebuilder:default={}
	// +optional
	Spec BGPAdvertisementSpec `json:"spec,omitempty"`

	// Status is written by the controller.
	//
	// +optional
	Status BGPAdvertisementStatus `json:"status,omitempty"`
}

// BGPAdvertisementList is a list of BGPAdvertisements.
//
// +kubebuilder:object:root=true
type BGPAdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPAdvertisement `json:"items"`
}
