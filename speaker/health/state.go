package health

import "time"

// State is one check's hysteresis on one node. The zero State is healthy:
// a new check, or a speaker that starts, announces until Fall rounds in a
// row fail, so that a restart never withdraws a Service on its own.
type State struct {
	// Gated says the node stops announcing the Service.
	Gated bool
	// Since is when Gated last changed (zero: never).
	Since time.Time
	// LastError is the last failed round's error ("" after a success).
	LastError string
	// Fails and Passes count the rounds in a row that failed or passed.
	Fails, Passes int
}

// Observe returns the state after a round that ended at now with err (nil:
// it passed). A healthy node is gated after fall failures in a row; a gated
// one is ungated after rise successes in a row.
func (s State) Observe(err error, now time.Time, rise, fall int) State {
	if err != nil {
		s.Fails++
		s.Passes = 0
		s.LastError = err.Error()
		if !s.Gated && s.Fails >= fall {
			s.Gated, s.Since = true, now
		}
		return s
	}
	s.Passes++
	s.Fails = 0
	s.LastError = ""
	if s.Gated && s.Passes >= rise {
		s.Gated, s.Since = false, now
	}
	return s
}
