package frragent

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldlb/herald/frragent/vty"
)

// Paths of the agent's health and shutdown calls.
const (
	// HealthPath answers a GET with Health: whether FRR's daemons answer,
	// and the last apply's result. The speaker's readiness asks it.
	HealthPath = "/v1/health"
	// GoodbyePath takes a POST from the speaker once it has withdrawn its
	// prefixes on shutdown: the agent and FRR are no longer needed by it.
	GoodbyePath = "/v1/goodbye"
	// WaitPath answers a GET once the speaker is done with the agent (see
	// WaitOver), or when the request's "timeout" (a Go duration, at most
	// maxWait) has passed: the FRR container's preStop hook calls it, so
	// that FRR and the agent outlive the speaker's withdrawal.
	WaitPath = "/v1/wait"
)

// DefaultDaemons are the FRR daemons herald's FRR image runs and the agent
// checks: zebra, bgpd, bfdd and staticd.
func DefaultDaemons() []string { return []string{"zebra", "bgpd", "bfdd", "staticd"} }

// daemonCheckTimeout bounds the check of one daemon.
const daemonCheckTimeout = 2 * time.Second

// Health is whether FRR can do herald's work.
type Health struct {
	// Daemons is one entry per daemon checked, in Options.Daemons' order.
	Daemons []DaemonHealth `json:"daemons"`
	// LastApply is the result of the last apply, nil before the first.
	LastApply *Result `json:"lastApply,omitempty"`
}

// DaemonHealth is one FRR daemon's liveness.
type DaemonHealth struct {
	// Name is the daemon (bgpd).
	Name string `json:"name"`
	// Up is true when the daemon answered a command on its vty.
	Up bool `json:"up"`
	// Error says why it is not up.
	Error string `json:"error,omitempty"`
}

// Down returns the names of the daemons that are not up.
func (h Health) Down() []string {
	var out []string
	for _, d := range h.Daemons {
		if !d.Up {
			out = append(out, d.Name)
		}
	}
	return out
}

// Health checks every daemon of Options.Daemons: it connects to the
// daemon's vty socket and runs "show version" (with vtysh -d when
// Options.VtyDir is empty). A daemon that does not answer within 2s is
// down.
func (a *Agent) Health(ctx context.Context) Health {
	var h Health
	for _, d := range a.daemons {
		h.Daemons = append(h.Daemons, a.checkDaemon(ctx, d))
	}
	a.mu.Lock()
	if a.lastResult != nil {
		r := *a.lastResult
		h.LastApply = &r
	}
	a.mu.Unlock()
	return h
}

func (a *Agent) checkDaemon(ctx context.Context, daemon string) DaemonHealth {
	ctx, cancel := context.WithTimeout(ctx, daemonCheckTimeout)
	defer cancel()
	var err error
	if a.vtyDir == "" {
		_, err = a.vtysh(ctx, "-d", daemon, "-c", "show version")
	} else {
		var c *vty.Conn
		if c, err = vty.Dial(ctx, vty.SocketPath(a.vtyDir, daemon)); err == nil {
			_, err = c.Run(ctx, "show version")
			c.Close()
		}
	}
	if err != nil {
		return DaemonHealth{Name: daemon, Error: fmt.Sprintf("%s does not answer: %v", daemon, err)}
	}
	return DaemonHealth{Name: daemon, Up: true}
}

// WaitOver decides the FRR container's preStop wait: it is over when the
// speaker said goodbye (it withdrew), or when no client but the waiter
// itself has been connected for quiet (the speaker is gone, or never came:
// there is nothing left to withdraw through this agent). others is the
// number of connections besides the waiter's; lastOther when one was last
// seen.
func WaitOver(goodbye bool, others int, lastOther, now time.Time, quiet time.Duration) (bool, string) {
	switch {
	case goodbye:
		return true, "the speaker withdrew and said goodbye"
	case others == 0 && now.Sub(lastOther) >= quiet:
		return true, fmt.Sprintf("no speaker connected for %s", quiet)
	}
	return false, ""
}
