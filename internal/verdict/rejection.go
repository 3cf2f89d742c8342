package verdict

import "fmt"

// Kinds of the objects this package judges.
const (
	KindIPAddressPool = "IPAddressPool"
	KindCommunity     = "Community"
)

// Reasons of rejections (condition and event reasons).
const (
	// ReasonInvalidPool: the pool is unusable on its own (addresses that
	// do not parse, no usable address, a selector that does not parse).
	ReasonInvalidPool = "InvalidPool"
	// ReasonOverlappingPool: the pool shares addresses with an older pool,
	// which keeps them.
	ReasonOverlappingPool = "OverlappingPool"
	// ReasonConflictingCommunity: an alias is defined with another value
	// by an older Community, whose value stays in effect.
	ReasonConflictingCommunity = "ConflictingCommunityAlias"
)

// Rejection says why an object, or one of its fields, is not in effect.
type Rejection struct {
	// Kind and Name are the object rejected.
	Kind, Name string
	// Field is the field at fault, e.g. "spec.addresses[1]".
	Field string
	// Reason is a CamelCase reason for conditions and events.
	Reason string
	// Message says what is wrong and how to fix it.
	Message string
	// InEffect names the object that keeps effect instead, if any.
	InEffect string
}

// String renders the rejection for logs.
func (r Rejection) String() string {
	return fmt.Sprintf("%s %s: %s: %s", r.Kind, r.Name, r.Field, r.Message)
}
