package speaker

import "time"

// latest is the bookkeeping of the FRR apply goroutine, with no I/O and no
// clock: latest wins (a new desired config replaces one that has not
// started), at most one apply is in flight, and a failed apply is tried
// again after a backoff unless a newer config superseded it. The goroutine
// asks start for work when it is idle, reports each finished apply to done,
// and calls retryDue when the delay done gave it has passed.
type latest[T any] struct {
	// same reports whether two values are the same config, so that a
	// pending value equal to the one just applied is not applied again.
	same func(a, b T) bool
	// base is the first retry delay; limit bounds the doubling.
	base, limit time.Duration

	pending  *T // newest value not started yet
	inFlight *T // the value being applied
	failed   *T // the last value, failed, waiting for its retry
	delay    time.Duration
}

func newLatest[T any](base, limit time.Duration, same func(a, b T) bool) *latest[T] {
	return &latest[T]{same: same, base: base, limit: limit, delay: base}
}

// offer makes v the next value to apply, replacing any pending one and
// cancelling a retry: a new value is tried at once. It reports whether the
// goroutine is idle (it must be woken to call start).
func (q *latest[T]) offer(v T) (idle bool) {
	q.pending = &v
	q.failed = nil
	q.delay = q.base
	return q.inFlight == nil
}

// start returns the value to apply now, if any: the pending one when
// nothing is in flight.
func (q *latest[T]) start() (T, bool) {
	var zero T
	if q.inFlight != nil || q.pending == nil {
		return zero, false
	}
	q.inFlight, q.pending = q.pending, nil
	return *q.inFlight, true
}

// done records the end of the apply in flight. After a success the
// backoff restarts, and a pending value equal to the one applied is
// dropped. After a failure with nothing pending, retryIn is how long to
// wait before retryDue; each further failure doubles it up to limit.
func (q *latest[T]) done(ok bool) (retryIn time.Duration) {
	finished := q.inFlight
	q.inFlight = nil
	if finished == nil {
		return 0
	}
	if ok {
		q.delay = q.base
		if q.pending != nil && q.same(*q.pending, *finished) {
			q.pending = nil
		}
		return 0
	}
	if q.pending != nil {
		// Superseded: the newer value starts at once.
		return 0
	}
	q.failed = finished
	retryIn = q.delay
	q.delay = min(2*q.delay, q.limit)
	return retryIn
}

// retryDue returns the failed value to apply again, if it is still the
// latest and nothing is in flight (a retry timer may outlive the value it
// was set for).
func (q *latest[T]) retryDue() (T, bool) {
	var zero T
	if q.failed == nil || q.inFlight != nil || q.pending != nil {
		return zero, false
	}
	q.inFlight, q.failed = q.failed, nil
	return *q.inFlight, true
}
