package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InterfaceName is the name of a network interface on a node: 1 to 15
// letters, digits, '.', '_' or '-', starting with a letter or '_'.
//
// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_.-]{0,14}$`
type InterfaceName string

// L2AdvertisementSpec says which pools' addresses are answered for by
// ARP (IPv4) and NDP (IPv6), from which nodes, on which interfaces, with
// MetalLB's field names and meanings.
type L2AdvertisementSpec struct {
	// IPAddressPools names the pools whose addresses are announced. With
	// ipAddressPoolSelectors, a pool named or selected qualifies; with
	// neither, every pool does.
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

	// NodeSelectors choose the nodes that may answer; empty, every node.
	//
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Interfaces are the node interfaces ARP and NDP answers are given on;
	// empty, every interface that is up and not a loopback or a container
	// veth.
	//
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Interfaces []InterfaceName `json:"interfaces,omitempty"`
}

// L2AdvertisementStatus is what the controller reports about an
// advertisement.
type L2AdvertisementStatus struct {
	// Conditions tell whether the advertisement is applied and, if not, why.
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// L2Advertisement announces the addresses of some pools on the local
// network by ARP and NDP. It lives in herald's own namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=herald
// +kubebuilder:printcolumn:name="Pools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="Interfaces",type=string,JSONPath=`.spec.interfaces`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L2Advertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what to announce, from where.
	//
	// +optional
	Spec L2AdvertisementSpec `json:"spec,omitempty"`

	// Status is written by the controller.
	//
	// +optional
	Status L2AdvertisementStatus `json:"status,omitempty"`
}

// L2AdvertisementList is a list of L2Advertisements.
//
// +kubebuilder:object:root=true
type L2AdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L2Advertisement `json:"items"`
}
