package member

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/go-logr/logr"
)

// Config configures a Member. Start from DefaultConfig.
type Config struct {
	// Name is this node's name, unique in the cluster (the Kubernetes node
	// name).
	Name string
	// BindAddr and BindPort are where memberlist listens (UDP and TCP).
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what the others dial; empty/0
	// means the bind address and port.
	AdvertiseAddr string
	AdvertisePort int
	// Peers are the "ip:port" addresses of the other speakers to join, and
	// rejoin whenever they are not seen alive. This node's own address may
	// be listed; it is skipped.
	Peers []string
	// Keys encrypt and authenticate all traffic; the first is used to send,
	// all are accepted. Each must be 16, 24 or 32 bytes (AES-128/192/256).
	// No keys means plain text, which only tests should use.
	Keys [][]byte
	// KeyGrace paces a key change (see Member.SetKeys): the new key is
	// sent with KeyGrace after it is given, old keys are dropped KeyGrace
	// later.
	KeyGrace time.Duration

	// ProbeInterval is how often a node probes another; ProbeTimeout how
	// long it waits for a direct ack before asking others to probe.
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// SuspicionMult times ProbeInterval (times log10 of the cluster size,
	// at least 1) is how long a suspected node has to refute before it is
	// declared dead.
	SuspicionMult int
	// SuspicionMaxTimeoutMult stretches the suspicion timeout while fewer
	// nodes have confirmed the suspicion; 1 keeps it fixed.
	SuspicionMaxTimeoutMult int
	// AwarenessMaxMultiplier bounds how much a node that misses its own acks
	// (a busy or starved node) slows its probing rather than accusing others.
	AwarenessMaxMultiplier int
	// GossipInterval is how often queued updates (suspect, dead, leave,
	// ready) are sent.
	GossipInterval time.Duration
	// PushPullInterval is how often two nodes exchange their full state.
	PushPullInterval time.Duration
	// RejoinInterval is how often peers not seen alive are joined again.
	RejoinInterval time.Duration
	// Settle is how long a node waits after it could become ready (start,
	// interface back) before it says so, with at least one other node alive.
	Settle time.Duration
	// Handoff is how long a node that has said it is ready waits before it
	// counts itself, so that the node answering for its IPs until then has
	// stopped (a gap of Handoff rather than two nodes answering at once).
	Handoff time.Duration
	// HandoffWait is the longest a node that has said it is ready waits
	// for every other live node to ack one of its probes saying it counts
	// this node (and so no longer answers for this node's IPs) before it
	// counts itself anyway (a node that does not say, e.g. of an older
	// version). 0 does not wait for the others.
	HandoffWait time.Duration
	// AloneAfter is how long a node that sees no other node alive waits
	// before it becomes ready anyway (the first node of a cluster).
	AloneAfter time.Duration
	// Silence is how long a node declared dead must have been silent to
	// this node — no ack to its probes or to the direct pings this node
	// sends it meanwhile — before this node stops counting it. A node
	// really gone has been silent longer than that when memberlist declares
	// it dead (a failed probe plus the suspicion timeout), so failover pays
	// nothing; a node declared dead on another's stale word (a partitioned
	// node coming back with its view of the others dead) keeps answering
	// pings and refutes, and its IPs do not move. 0 counts a node dead at
	// once.
	Silence time.Duration

	// OnChange is called with the live nodes (sorted; this node only when
	// ready) each time that set changes, from one goroutine at a time.
	OnChange func(live []string)
	Log      logr.Logger
}

// DefaultConfig returns timers chosen from measurements in namespaces on a
// busy 2-core machine (see e2e/bench/l2failover) to fail over in about
// 400 ms on a LAN of a few nodes while staying quiet under CPU load:
//
//   - each node probes another every ProbeInterval (80 ms), so with n nodes
//     a dead one is probed within (n−1)×80 ms, and suspected once neither
//     the direct probe (40 ms) nor the indirect ones answer within the
//     interval;
//   - a suspicion becomes a death after SuspicionMult×ProbeInterval
//     (240 ms) once another node confirms it — with 3 nodes the other
//     survivor confirms within two probe intervals;
//   - a suspicion nobody confirms (a busy node slow to ack one prober, or
//     the stale view of a node coming back from a partition) runs for
//     SuspicionMaxTimeoutMult times longer (about 1 s), ample time for the
//     suspected node to refute: a fixed 200 ms timeout, tried first, let a
//     node starved for a few hundred milliseconds be declared dead;
//   - suspected nodes still count as live: only death moves IPs, and only
//     once the dead node has been silent to this node for Silence
//     (250 ms, under the 280 ms a failed probe plus the minimum suspicion
//     timeout take), so a node that is still heard from keeps its IPs;
//   - Lifeguard's awareness (AwarenessMaxMultiplier 8) stretches the probe
//     round of a node that misses acks or has to refute (a starved node) up
//     to 8×, instead of letting it accuse others; an unloaded cluster keeps
//     the fast timers (measured with e2e/bench/l2failover -stability 2m on
//     a 2-core machine at load 25 from other work plus 2 CPU burners: 4
//     ownership changes with multiplier 8, 8 and 11 with 4, those looked at
//     being nodes starved for 0.8-1.5 s, longer than any sub-second failure
//     detector can wait).
func DefaultConfig() Config {
	return Config{
		BindAddr:                "0.0.0.0",
		BindPort:                7946,
		ProbeInterval:           80 * time.Millisecond,
		ProbeTimeout:            40 * time.Millisecond,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 4,
		AwarenessMaxMultiplier:  8,
		GossipInterval:          40 * time.Millisecond,
		PushPullInterval:        15 * time.Second,
		RejoinInterval:          500 * time.Millisecond,
		Settle:                  time.Second,
		Handoff:                 150 * time.Millisecond,
		HandoffWait:             2 * time.Second,
		KeyGrace:                10 * time.Second,
		AloneAfter:              5 * time.Second,
		Silence:                 250 * time.Millisecond,
		Log:                     logr.Discard(),
	}
}

// Validate checks c, naming the field at fault and the fix.
func (c Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("member config: Name is empty; set it to this node's name"))
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		errs = append(errs, fmt.Errorf("member config: BindPort %d is not a port; use 1-65535 (or 0 for any)", c.BindPort))
	}
	if c.BindAddr != "" && net.ParseIP(c.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("member config: BindAddr %q is not an IP address", c.BindAddr))
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		errs = append(errs, fmt.Errorf("member config: AdvertiseAddr %q is not an IP address", c.AdvertiseAddr))
	}
	for i, k := range c.Keys {
		if l := len(k); l != 16 && l != 24 && l != 32 {
			errs = append(errs, fmt.Errorf("member config: key %d is %d bytes; memberlist keys must be 16, 24 or 32 bytes (AES-128/192/256)", i, l))
		}
	}
	for i, p := range c.Peers {
		host, port, err := net.SplitHostPort(p)
		if err == nil {
			_, err = strconv.ParseUint(port, 10, 16)
		}
		if err != nil || host == "" {
			errs = append(errs, fmt.Errorf("member config: peer %d (%q) is not \"host:port\"", i, p))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ProbeInterval", c.ProbeInterval}, {"ProbeTimeout", c.ProbeTimeout}, {"GossipInterval", c.GossipInterval},
		{"PushPullInterval", c.PushPullInterval}, {"RejoinInterval", c.RejoinInterval},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("member config: %s is %v; it must be positive (start from DefaultConfig)", d.name, d.v))
		}
	}
	if c.ProbeTimeout >= c.ProbeInterval && c.ProbeInterval > 0 {
		errs = append(errs, fmt.Errorf("member config: ProbeTimeout %v must be shorter than ProbeInterval %v", c.ProbeTimeout, c.ProbeInterval))
	}
	if c.Silence < 0 || c.Settle < 0 || c.Handoff < 0 || c.HandoffWait < 0 || c.AloneAfter < 0 || c.KeyGrace < 0 {
		errs = append(errs, errors.New("member config: Silence, Settle, Handoff, HandoffWait, AloneAfter and KeyGrace must not be negative"))
	}
	if c.SuspicionMult < 1 || c.SuspicionMaxTimeoutMult < 1 || c.AwarenessMaxMultiplier < 1 {
		errs = append(errs, errors.New("member config: SuspicionMult, SuspicionMaxTimeoutMult and AwarenessMaxMultiplier must be at least 1 (start from DefaultConfig)"))
	}
	return errors.Join(errs...)
}
