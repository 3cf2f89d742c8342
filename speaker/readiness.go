package speaker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent"
)

// HealthAgent is an Agent that can say whether FRR's daemons answer
// (AgentClient is one).
type HealthAgent interface {
	Health(ctx context.Context) (frragent.Health, error)
}

// goodbyer is an Agent told when the speaker has withdrawn on shutdown, so
// that the FRR container's preStop hook stops waiting (AgentClient is one).
type goodbyer interface {
	Goodbye(ctx context.Context) error
}

// socketErrorer is an L2 that can say it cannot open its raw sockets
// (*l2.Node is one).
type socketErrorer interface {
	SocketError() error
}

// ReadyInput is what the speaker's readiness is decided from.
type ReadyInput struct {
	// AgentErr is why the agent did not answer its health call; nil when
	// it did.
	AgentErr error
	// Health is the agent's answer.
	Health frragent.Health
	// LastApply is the speaker's last apply as NodeState reports it; nil
	// before the first.
	LastApply *v1beta1.FRRConfigStatus
	// BGPOff is true when BGP mode is off (no agent, no FRR): then neither
	// is checked.
	BGPOff bool
	// L2 is true when Layer 2 mode is on; L2Err why its sockets cannot be
	// opened.
	L2    bool
	L2Err error
}

// Ready decides the speaker's readiness: the agent answers, FRR's daemons
// are up, the last apply did not fail, and, in Layer 2 mode, the raw
// sockets are open. A config FRR rejected does not make the speaker not
// ready: the last good config keeps running, and NodeState lists the
// rejected lines; a failed apply (the agent or FRR could not do it) does.
func Ready(in ReadyInput) error {
	var errs []error
	switch {
	case in.BGPOff:
	case in.AgentErr != nil:
		errs = append(errs, fmt.Errorf("the frr-agent does not answer: %w", in.AgentErr))
	default:
		if len(in.Health.Daemons) == 0 {
			errs = append(errs, errors.New("the frr-agent checks no FRR daemon"))
		}
		if down := in.Health.Down(); len(down) > 0 {
			var why []string
			for _, d := range in.Health.Daemons {
				if !d.Up {
					why = append(why, d.Error)
				}
			}
			errs = append(errs, fmt.Errorf("FRR daemons down: %s (%s)", strings.Join(down, ", "), strings.Join(why, "; ")))
		}
	}
	if a := in.LastApply; a != nil && a.Result == v1beta1.FRRFailed {
		errs = append(errs, fmt.Errorf("the last FRR apply (generation %d) failed: %s", a.Generation, a.Message))
	}
	if in.L2 && in.L2Err != nil {
		errs = append(errs, fmt.Errorf("layer 2 mode cannot answer: %w", in.L2Err))
	}
	return errors.Join(errs...)
}

// healthTimeout bounds the agent's health call in a readiness check.
const healthTimeout = 4 * time.Second

// ReadyCheck is the speaker's /readyz check (a healthz.Checker): it asks
// the agent's health and decides with Ready. A nil agent means BGP mode is
// off (no FRR beside the speaker): only Layer 2 is checked.
func (s *Speaker) ReadyCheck(agent HealthAgent) func(*http.Request) error {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), healthTimeout)
		defer cancel()
		in := ReadyInput{LastApply: s.lastApply(), L2: s.cfg.L2 != nil, BGPOff: agent == nil}
		if agent != nil {
			in.Health, in.AgentErr = agent.Health(ctx)
		}
		if se, ok := s.cfg.L2.(socketErrorer); ok {
			in.L2Err = se.SocketError()
		}
		return Ready(in)
	}
}

// lastApply is the last apply's status, safe from any goroutine.
func (s *Speaker) lastApply() *v1beta1.FRRConfigStatus {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	return s.readyFRR
}

// setLastApply records the status lastApply returns.
func (s *Speaker) setLastApply(st *v1beta1.FRRConfigStatus) {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	s.readyFRR = st
}

// ConditionL2Ready is the NodeState condition saying whether Layer 2 mode
// can answer: false when its raw sockets cannot be opened.
const ConditionL2Ready = "L2Ready"

// l2Condition is ConditionL2Ready for err; now is its transition time when
// its status changes.
func l2Condition(err error, now time.Time) metav1.Condition {
	c := metav1.Condition{Type: ConditionL2Ready, Status: metav1.ConditionTrue, Reason: "SocketsOpen",
		Message: "the raw sockets answering ARP and NDP are open", LastTransitionTime: metav1.NewTime(now.Truncate(time.Second))}
	if err != nil {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, "SocketError", err.Error()
	}
	return c
}

// goodbye tells the agent the speaker is done with it, after the
// withdrawal.
func (s *Speaker) goodbye() {
	g, ok := s.cfg.Agent.(goodbyer)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Goodbye(ctx); err != nil {
		s.cfg.Log.Info("could not tell the frr-agent the withdrawal is done; its preStop hook waits for its timeout", "error", err.Error())
	}
}
