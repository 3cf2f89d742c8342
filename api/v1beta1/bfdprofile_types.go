package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BFDProfileSpec is a set of BFD session parameters, with MetalLB's field
// names and meanings. Intervals are in milliseconds. Every field has a
// default, written into the object at admission, so what the speaker
// configures is what `kubectl get -o yaml` shows.
type BFDProfileSpec struct {
	// ReceiveInterval is the lowest interval, in ms, at which this system
	// can receive control packets.
	//
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	// +kubebuilder:default=300
	// +optional
	ReceiveInterval *uint32 `json:"receiveInterval,omitempty"`

	// TransmitInterval is the lowest interval, in ms, at which this system
	// wants to send control packets.
	//
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	// +kubebuilder:default=300
	// +optional
	TransmitInterval *uint32 `json:"transmitInterval,omitempty"`

	// DetectMultiplier is how many packets may be lost before the session
	// is declared down.
	//
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=255
	// +kubebuilder:default=3
	// +optional
	DetectMultiplier *uint32 `json:"detectMultiplier,omitempty"`

	// EchoInterval is the lowest interval, in ms, at which this system
	// sends and wants to receive echo packets (with echoMode).
	//
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	// +kubebuilder:default=50
	// +optional
	EchoInterval *uint32 `json:"echoInterval,omitempty"`

	// EchoMode turns on BFD echo packets.
	//
	// +kubebuilder:default=false
	// +optional
	EchoMode *bool `json:"echoMode,omitempty"`

	// PassiveMode makes this system wait for the peer's first packet
	// instead of starting the session itself.
	//
	// +kubebuilder:default=false
	// +optional
	PassiveMode *bool `json:"passiveMode,omitempty"`

	// MinimumTTL is the lowest TTL accepted on incoming control packets of
	// multi-hop sessions, 1 to 254.
	//
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=254
	// +kubebuilder:default=254
	// +optional
	MinimumTTL *uint32 `json:"minimumTtl,omitempty"`
}

// BFDProfileStatus is what the controller reports about a profile.
type BFDProfileStatus struct {
	// Conditions tell whether the profile is in use and valid.
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BFDProfile is a named set of BFD parameters that BGPPeers refer to by
// name (at most 63 characters, as FRR takes it). It lives in herald's own
// namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=herald
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name: a BFDProfile name is at most 63 characters (FRR's limit for profile names): choose a shorter name"
// +kubebuilder:printcolumn:name="Receive",type=integer,JSONPath=`.spec.receiveInterval`
// +kubebuilder:printcolumn:name="Transmit",type=integer,JSONPath=`.spec.transmitInterval`
// +kubebuilder:printcolumn:name="Multiplier",type=integer,JSONPath=`.spec.detectMultiplier`
// +kubebuilder:printcolumn:name="Echo",type=boolean,JSONPath=`.spec.echoMode`
// +kubebuilder:printcolumn:name="Passive",type=boolean,JSONPath=`.spec.passiveMode`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BFDProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the profile's parameters; omitted, every default applies.
	//
	// +kubebuilder:default={}
	// +optional
	Spec BFDProfileSpec `json:"spec,omitempty"`

	// Status is written by the controller.
	//
	// +optional
	Status BFDProfileStatus `json:"status,omitempty"`
}

// BFDProfileList is a list of BFDProfiles.
//
// +kubebuilder:object:root=true
type BFDProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BFDProfile `json:"items"`
}
