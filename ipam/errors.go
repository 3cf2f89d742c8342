package ipam

// Reason says, in one word, why the allocator refused a request. The values
// are the reasons the controller writes on a Service's heraldlb.io/IPAllocated
// condition and on pool status, so they are stable API.
type Reason string

const (
	// NoMatchingPool: no pool the Service may use serves the address
	// family (or families) it needs. Fix: add a pool (or an address family to
	// a pool) whose serviceAllocation admits the Service, or change the
	// Service's address-pool annotation or ipFamilyPolicy.
	NoMatchingPool Reason = "NoMatchingPool"
	// PoolExhausted: pools the Service may use exist, but every usable address
	// of the family is taken. Fix: add addresses to a pool or delete Services.
	PoolExhausted Reason = "PoolExhausted"
	// SharingConflict: the address is used by a Service with the same sharing
	// key, but the two cannot share it (a protocol/port clash, a different
	// externalTrafficPolicy, or a different selector under Local).
	SharingConflict Reason = "SharingConflict"
	// RequestedIPUnavailable: a requested address lies outside every pool the
	// Service may use, or is used by a Service that does not share it.
	RequestedIPUnavailable Reason = "RequestedIPUnavailable"
	// InvalidRequest: the Service asks for something that cannot be served
	// as written: two requested addresses of one family, a requested address
	// of a family the Service does not have, an address-pool annotation
	// naming a pool that does not exist, a malformed address.
	InvalidRequest Reason = "InvalidRequest"
	// InvalidPool: a pool is rejected by SetPools (bad address entry, no
	// usable address, overlap with another pool). The pool keeps its last
	// valid definition, if it had one.
	InvalidPool Reason = "InvalidPool"
	// NotInPool: Restore was given an address that lies in no pool (the pool
	// shrank or went away while the controller was down). The address is not
	// recorded; the caller should call Allocate for the Service.
	NotInPool Reason = "NotInPool"
)

// Error is the error type returned by the allocator. Reason is meant for
// machines (condition reasons, metric labels); Message is a sentence for the
// user that names what to change. Use errors.As to get at it.
type Error struct {
	Reason  Reason
	Message string
}

// Error returns the user-facing message.
func (e *Error) Error() string { return e.Message }

func newError(r Reason, msg string) *Error { return &Error{Reason: r, Message: msg} }
