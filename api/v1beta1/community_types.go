package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CommunityValue is a BGP community: standard "aa:nn" (two numbers
// 0-65535, RFC 1997) or large "large:a:b:c" (three numbers 0-4294967295,
// RFC 8092), in decimal without leading zeros. Standard communities in the
// reserved range (0:0 and 65535:x) are refused unless well known (65535:0
// graceful-shutdown, 65535:666 blackhole, 65535:65281 no-export, 65535:65282
// no-advertise, 65535:65283 local-AS, 65535:65284 no-peer), as the speaker
// refuses them.
//
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:XValidation:rule="self.matches('^(0|[1-9][0-9]{0,4}):(0|[1-9][0-9]{0,4})$') ? self.split(':').all(p, int(p) <= 65535) : (self.matches('^large:(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9})$') && self.substring(6).split(':').all(p, int(p) <= 4294967295))",messageExpression="'\"' + self + '\" is not a BGP community: write a standard community aa:nn (two numbers 0-65535 without leading zeros, e.g. 64512:100) or a large community large:a:b:c (three numbers 0-4294967295, e.g. large:64512:1:2)'"
// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|[1-9][0-9]{0,4}):(0|[1-9][0-9]{0,4})$') || (self != '0:0' && (!self.startsWith('65535:') || self in ['65535:0', '65535:666', '65535:65281', '65535:65282', '65535:65283', '65535:65284']))",messageExpression="'\"' + self + '\" is in the reserved range (0:0, 65535:x) and is not a well-known community (65535:0 graceful-shutdown, 65535:666 blackhole, 65535:65281 no-export, 65535:65282 no-advertise, 65535:65283 local-AS, 65535:65284 no-peer): use another value'"
type CommunityValue string

// CommunityOrAlias is a BGP community as in CommunityValue, or the name of
// an alias defined in a Community object of herald's namespace.
//
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="self.matches('^(0|[1-9][0-9]{0,4}):(0|[1-9][0-9]{0,4})$') ? self.split(':').all(p, int(p) <= 65535) : (self.startsWith('large:') ? (self.matches('^large:(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9})$') && self.substring(6).split(':').all(p, int(p) <= 4294967295)) : self.matches('^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$'))",messageExpression="'spec.communities: \"' + self + '\" is not a BGP community: write a standard community aa:nn (two numbers 0-65535 without leading zeros, e.g. 64512:100), a large community large:a:b:c (three numbers 0-4294967295), or the name of a Community alias (letters, digits, -, _ and .)'"
// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|[1-9][0-9]{0,4}):(0|[1-9][0-9]{0,4})$') || (self != '0:0' && (!self.startsWith('65535:') || self in ['65535:0', '65535:666', '65535:65281', '65535:65282', '65535:65283', '65535:65284']))",messageExpression="'spec.communities: ' + '\"' + self + '\" is in the reserved range (0:0, 65535:x) and is not a well-known community (65535:0 graceful-shutdown, 65535:666 blackhole, 65535:65281 no-export, 65535:65282 no-advertise, 65535:65283 local-AS, 65535:65284 no-peer): use another value'"
type CommunityOrAlias string

// CommunityAlias names one community value.
type CommunityAlias struct {
	// Name is the alias that BGPAdvertisements may use in place of the
	// value.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	// +required
	Name string `json:"name"`

	// Value is the community the alias stands for.
	//
	// +required
	Value CommunityValue `json:"value"`
}

// CommunitySpec is a set of community aliases.
type CommunitySpec struct {
	// Communities are the aliases, each name once.
	//
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Communities []CommunityAlias `json:"communities,omitempty"`
}

// Community gives names to BGP community values, so that BGPAdvertisements
// can say "no-advertise-to-transit" instead of 64512:666. It lives in
// herald's own namespace; an alias defined by two Community objects with
// different values is a conflict the controller reports.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=herald
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Community struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the aliases.
	//
	// +optional
	Spec CommunitySpec `json:"spec,omitempty"`
}

// CommunityList is a list of Communities.
//
// +kubebuilder:object:root=true
type CommunityList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Community `json:"items"`
}
