package l2

import (
	"net"
	"net/netip"
	"slices"
	"time"
)

// ProbeConfig times the probes that find another host holding a Service IP
// (RFC 5227 for IPv4, RFC 4862 duplicate address detection for IPv6).
type ProbeConfig struct {
	// Count probes go out Interval apart; the IP is free once Wait has
	// passed after the last with no answer. The defaults (3, 150ms,
	// 300ms) decide in 600ms; an answer is a conflict at once.
	Count    int
	Interval time.Duration
	Wait     time.Duration
	// Backoff is the first wait before a conflicting IP is probed again,
	// doubling after each round still answered, up to MaxBackoff (1s, 30s).
	Backoff, MaxBackoff time.Duration
}

// DefaultProbeConfig is 3 probes 150ms apart, free 300ms after the last;
// re-probing after 1s, doubling up to 30s.
func DefaultProbeConfig() ProbeConfig {
	return ProbeConfig{Count: 3, Interval: 150 * time.Millisecond, Wait: 300 * time.Millisecond, Backoff: time.Second, MaxBackoff: 30 * time.Second}
}

func (c *ProbeConfig) defaults() {
	d := DefaultProbeConfig()
	if c.Count <= 0 {
		c.Count = d.Count
	}
	if c.Interval <= 0 {
		c.Interval = d.Interval
	}
	if c.Wait <= 0 {
		c.Wait = d.Wait
	}
	if c.Backoff <= 0 {
		c.Backoff = d.Backoff
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = max(d.MaxBackoff, c.Backoff)
	}
}

// Phase is where an IP stands in conflict detection.
type Phase int

const (
	// PhaseProbing: probes are going out; the IP is not answered yet.
	PhaseProbing Phase = iota + 1
	// PhaseAnswering: answered, no other host seen holding it.
	PhaseAnswering
	// PhaseConflict: another host answered a probe before this node
	// answered: not answered, probed again with backoff until nobody
	// answers.
	PhaseConflict
	// PhaseContested: another host claimed the IP while this node answered
	// for it. This node goes on answering — it neither stops (the IP would
	// move to the other host, whoever configured it by mistake) nor sends
	// more gratuitous ARP than its takeover burst (a war of announcements
	// makes the clients' caches flap) — and reports the conflict, probing
	// with backoff until nobody else answers.
	PhaseContested
)

// Conflict is an IP another host holds, as a node's Layer 2 mode sees it.
type Conflict struct {
	IP netip.Addr
	// Interface is where the other host was seen, MAC its address.
	Interface string
	MAC       net.HardwareAddr
	// Answering is whether this node still answers for IP (PhaseContested).
	Answering bool
	// Since is when the conflict was first seen.
	Since time.Time
}

// ProbeTracker decides, IP by IP, when to probe, whether to answer, and
// which conflicts to report, from the IPs this node owns, the claims of
// other hosts and the time. It is pure and not safe for concurrent use:
// the Announcer calls it under its lock and does the I/O.
type ProbeTracker struct {
	cfg ProbeConfig
	ips map[netip.Addr]*probeState
}

type probeState struct {
	phase Phase
	// sent probes of the current round (0: no round under way); next is
	// when the next step is due: a probe, the end of a round, the start of
	// a re-probe.
	sent    int
	next    time.Time
	backoff time.Duration

	iface string
	mac   net.HardwareAddr
	since time.Time
}

// NewProbeTracker returns a tracker for no IP.
func NewProbeTracker(cfg ProbeConfig) *ProbeTracker {
	cfg.defaults()
	return &ProbeTracker{cfg: cfg, ips: map[netip.Addr]*probeState{}}
}

// Set replaces the IPs tracked: ips maps each IP this node owns to whether
// it must be probed before it is answered (false for a takeover from
// another herald node, which must not wait). An IP already tracked keeps
// its state; an IP no longer listed is forgotten, with its conflict.
func (t *ProbeTracker) Set(ips map[netip.Addr]bool, now time.Time) {
	for ip := range t.ips {
		if _, ok := ips[ip]; !ok {
			delete(t.ips, ip)
		}
	}
	for ip, probe := range ips {
		if _, ok := t.ips[ip]; ok {
			continue
		}
		st := &probeState{phase: PhaseAnswering, backoff: t.cfg.Backoff}
		if probe {
			st.phase, st.next = PhaseProbing, now
		}
		t.ips[ip] = st
	}
}

// Claim takes a packet from another host about ip, seen on iface, and
// reports whether what is answered or reported changed. The caller has
// dropped the claims of this node's and the other speakers' MACs.
func (t *ProbeTracker) Claim(ip netip.Addr, iface string, c Claim, now time.Time) bool {
	st := t.ips[ip]
	if st == nil {
		return false
	}
	if c.Kind == ClaimProbe && st.phase != PhaseProbing {
		// Another host's probe is not a conflict once this node answers:
		// the answer tells that host the IP is taken.
		return false
	}
	changed := st.iface != iface || !slices.Equal(st.mac, c.MAC)
	st.iface, st.mac = iface, slices.Clone(c.MAC)
	switch st.phase {
	case PhaseProbing:
		st.phase, st.since = PhaseConflict, now
		changed = true
	case PhaseAnswering:
		st.phase, st.since = PhaseContested, now
		changed = true
	default:
		if st.sent > 0 {
			// A re-probe round answered: wait longer before the next.
			st.backoff = min(2*st.backoff, t.cfg.MaxBackoff)
		}
	}
	st.sent, st.next = 0, now.Add(st.backoff)
	return changed
}

// Due advances every IP to now: it returns the IPs to send a probe for now
// (in IP order) and whether what is answered or reported changed (a probe
// round ended unanswered).
func (t *ProbeTracker) Due(now time.Time) (probe []netip.Addr, changed bool) {
	for ip, st := range t.ips {
		if st.phase == PhaseAnswering || st.next.After(now) {
			continue
		}
		if st.sent < t.cfg.Count {
			probe = append(probe, ip)
			st.sent++
			st.next = now.Add(t.cfg.Interval)
			if st.sent == t.cfg.Count {
				st.next = now.Add(t.cfg.Wait)
			}
			continue
		}
		// Count probes and Wait with no answer: the IP is free.
		st.phase, st.sent, st.backoff = PhaseAnswering, 0, t.cfg.Backoff
		st.iface, st.mac, st.since = "", nil, time.Time{}
		changed = true
	}
	slices.SortFunc(probe, netip.Addr.Compare)
	return probe, changed
}

// Next is when Due next has something to do; zero when nothing is pending.
func (t *ProbeTracker) Next() time.Time {
	var next time.Time
	for _, st := range t.ips {
		if st.phase != PhaseAnswering && (next.IsZero() || st.next.Before(next)) {
			next = st.next
		}
	}
	return next
}

// Answerable reports whether ip is to be answered for: tracked, and not
// probing nor held by another host.
func (t *ProbeTracker) Answerable(ip netip.Addr) bool {
	st := t.ips[ip]
	return st != nil && (st.phase == PhaseAnswering || st.phase == PhaseContested)
}

// Phase returns ip's phase; 0 when ip is not tracked.
func (t *ProbeTracker) Phase(ip netip.Addr) Phase {
	if st := t.ips[ip]; st != nil {
		return st.phase
	}
	return 0
}

// Conflicts returns the IPs another host holds, sorted by IP.
func (t *ProbeTracker) Conflicts() []Conflict {
	var out []Conflict
	for ip, st := range t.ips {
		if st.phase == PhaseConflict || st.phase == PhaseContested {
			out = append(out, Conflict{IP: ip, Interface: st.iface, MAC: slices.Clone(st.mac), Answering: st.phase == PhaseContested, Since: st.since})
		}
	}
	slices.SortFunc(out, func(a, b Conflict) int { return a.IP.Compare(b.IP) })
	return out
}
