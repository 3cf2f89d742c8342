package l2

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/heraldlb/herald/speaker/l2/owner"
)

// Service is an IP to announce in Layer 2 mode and where it may be announced.
type Service struct {
	IP netip.Addr
	// Nodes are the nodes allowed to answer for IP: those matched by the
	// L2Advertisements' nodeSelectors, not excluded, and for
	// externalTrafficPolicy Local those with a ready endpoint.
	Nodes []string
	// Interfaces are the L2Advertisements' interfaces; empty means the
	// default selection.
	Interfaces []string
}

// Plan returns what node announces: the Services it owns among the live
// nodes, sorted by IP. It is pure; every node computes the same owners from
// the same services and live set. A later Service for the same IP replaces
// an earlier one.
func Plan(node string, services []Service, live []string) []Announcement {
	byIP := make(map[netip.Addr]Service, len(services))
	eligible := make(map[netip.Addr][]string, len(services))
	for _, s := range services {
		byIP[s.IP] = s
		eligible[s.IP] = s.Nodes
	}
	var out []Announcement
	for ip, o := range owner.Assign(eligible, live) {
		if o == node {
			out = append(out, Announcement{IP: ip, Interfaces: byIP[ip].Interfaces})
		}
	}
	slices.SortFunc(out, func(a, b Announcement) int { return a.IP.Compare(b.IP) })
	return out
}

// Unowned returns the IPs of services that no live node may answer for
// (none of their eligible nodes is live), sorted: every speaker computes the
// same set, which herald_l2_unowned_address reports.
func Unowned(services []Service, live []string) []netip.Addr {
	eligible := make(map[netip.Addr][]string, len(services))
	for _, s := range services {
		eligible[s.IP] = s.Nodes
	}
	owners := owner.Assign(eligible, live)
	var out []netip.Addr
	for ip := range eligible {
		if _, ok := owners[ip]; !ok {
			out = append(out, ip)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Handoff is an IP this node keeps answering for after another node took
// it over, until Until: the new owner answers and sends its gratuitous
// ARP / unsolicited NA first, so that clients learn the new MAC address
// before the old one goes silent.
type Handoff struct {
	Announcement
	Until time.Time
}

// Handoffs returns the IPs node hands over at now: those it answered for
// (answered: its previous announcements, including earlier hand-offs) that
// another node owns now because node itself may no longer answer for them
// (it is not eligible any more, as when it drains, or not live, as when its
// speaker stops) — each kept until its hand-off ends (an earlier one in
// handing keeps its deadline, a new one ends at now+window). An IP that
// node loses to a node coming back is not handed over: that node waits
// until the others stopped (member.Member.Live), never two answering at
// once. An IP node owns again, or that no node owns any more, is not
// handed over either. It is pure.
func Handoffs(node string, answered []Announcement, handing map[netip.Addr]Handoff, eligible map[netip.Addr][]string, live []string, now time.Time, window time.Duration) map[netip.Addr]Handoff {
	out := map[netip.Addr]Handoff{}
	if window <= 0 || len(answered) == 0 {
		return out
	}
	owners := owner.Assign(eligible, live)
	selfLive := slices.Contains(live, node)
	for _, a := range answered {
		o, ok := owners[a.IP]
		if !ok || o == node || (selfLive && slices.Contains(eligible[a.IP], node)) {
			continue
		}
		h, ok := handing[a.IP]
		if !ok {
			h = Handoff{Announcement: a, Until: now.Add(window)}
		}
		if now.Before(h.Until) {
			out[a.IP] = h
		}
	}
	return out
}

// DefaultHandoff is how long a node keeps answering for an IP another node
// took over: longer than the time the other speakers take to see the same
// change, shorter than the new owner's gratuitous burst (DefaultBurst), so
// that the new owner's last gratuitous packets come after the old owner's
// last answer.
const DefaultHandoff = 700 * time.Millisecond

// Coordinator keeps an announcer answering for the IPs this node owns as the
// Services and the live nodes change, and counts ownership and membership
// changes. An IP another node takes over is handed off (see Handoffs).
type Coordinator struct {
	node    string
	ann     interface{ Announce([]Announcement) }
	metrics *Metrics
	handoff time.Duration

	mu       sync.Mutex
	services []Service
	live     []string
	owned    map[netip.Addr]bool
	// owners is who owned each IP at the last plan: an IP this node gains
	// from another node is a takeover, answered at once; one nobody owned
	// (a new Service, this node's start) is probed first.
	owners map[netip.Addr]string
	// probe says which owned IPs were gained without a takeover.
	probe map[netip.Addr]bool
	// before are the IPs some herald node answered for when this node
	// started (see SetAnsweredBefore); an IP leaves the set at the first
	// plan that gives it an owner, or that has no Service for it.
	before map[netip.Addr]bool
	// servicesSet: SetServices was called (an IP no Service has is gone,
	// not yet unknown).
	servicesSet bool
	answered    []Announcement
	handing     map[netip.Addr]Handoff
	timer       *time.Timer
}

// NewCoordinator returns a Coordinator for node driving ann (an *Announcer
// outside tests). It announces nothing until SetLive names node. IPs taken
// over by another node are handed off for DefaultHandoff (SetHandoff).
func NewCoordinator(node string, ann interface{ Announce([]Announcement) }, metrics *Metrics) *Coordinator {
	return &Coordinator{node: node, ann: ann, metrics: metrics, owned: map[netip.Addr]bool{}, probe: map[netip.Addr]bool{},
		before: map[netip.Addr]bool{}, handoff: DefaultHandoff}
}

// SetAnsweredBefore gives the IPs herald nodes answered for when this node
// started: this node's own before it restarted, and the other nodes' (read
// from the NodeStates). Call it before the first plan. Such an IP, when
// this node comes to own it at start-up, is a hand-over from a herald node
// (the one answering for it, or this node's previous run) and is answered
// at once like a takeover, not probed: a restarted speaker must not leave
// its IPs unanswered while it probes (see MustProbe).
func (c *Coordinator) SetAnsweredBefore(ips []netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ip := range ips {
		c.before[ip] = true
	}
}

// MustProbe is whether an IP this node comes to own is probed before it is
// answered. prevOwner is the node that owned it at the previous plan ("":
// none, a new Service or this node's start); answeredBefore whether a
// herald node answered for it when this node started (SetAnsweredBefore).
// Only an IP no herald node held is probed: a takeover from another node
// (failover, rebalance) and an IP held before this node restarted are
// answered at once, or failover and restarts would leave them unanswered
// for the probe's 600 ms.
func MustProbe(prevOwner string, answeredBefore bool) bool {
	return prevOwner == "" && !answeredBefore
}

// SetHandoff sets how long an IP taken over by another node is still
// answered for; 0 stops answering at once.
func (c *Coordinator) SetHandoff(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handoff = d
}

func (c *Coordinator) handoffTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handoff
}

// SetServices replaces the Services and re-plans.
func (c *Coordinator) SetServices(services []Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.services = slices.Clone(services)
	c.servicesSet = true
	c.replan()
}

// SetLive replaces the live nodes (including this one only when it may
// answer, see member.Member.Live) and re-plans.
func (c *Coordinator) SetLive(live []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := map[string]bool{}
	for _, n := range c.live {
		prev[n] = true
	}
	joined := 0
	for _, n := range live {
		if !prev[n] {
			joined++
		}
		delete(prev, n)
	}
	c.metrics.membership("join", joined)
	c.metrics.membership("leave", len(prev))
	c.live = slices.Clone(live)
	c.replan()
}

// Owned returns the IPs this node owns, sorted (not those it hands off).
func (c *Coordinator) Owned() []netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]netip.Addr, 0, len(c.owned))
	for ip := range c.owned {
		out = append(out, ip)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Handing returns the IPs this node hands off at the moment, sorted.
func (c *Coordinator) Handing() []netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]netip.Addr, 0, len(c.handing))
	for ip := range c.handing {
		out = append(out, ip)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func (c *Coordinator) replan() {
	anns := Plan(c.node, c.services, c.live)
	owned := make(map[netip.Addr]bool, len(anns))
	probe := make(map[netip.Addr]bool, len(anns))
	gained := 0
	for i, a := range anns {
		owned[a.IP] = true
		if !c.owned[a.IP] {
			gained++
			probe[a.IP] = MustProbe(c.owners[a.IP], c.before[a.IP])
		} else {
			probe[a.IP] = c.probe[a.IP]
		}
		anns[i].Probe = probe[a.IP]
	}
	eligible := make(map[netip.Addr][]string, len(c.services))
	for _, s := range c.services {
		eligible[s.IP] = s.Nodes
	}
	c.owners = owner.Assign(eligible, c.live)
	c.probe = probe
	for ip := range c.before {
		if _, ok := eligible[ip]; c.owners[ip] != "" || (c.servicesSet && !ok) {
			delete(c.before, ip)
		}
	}
	lost := 0
	for ip := range c.owned {
		if !owned[ip] {
			lost++
		}
	}
	now := time.Now()
	c.handing = Handoffs(c.node, c.answered, c.handing, eligible, c.live, now, c.handoff)
	answer := slices.Clone(anns)
	var next time.Time
	for _, h := range c.handing {
		answer = append(answer, h.Announcement)
		if next.IsZero() || h.Until.Before(next) {
			next = h.Until
		}
	}
	slices.SortFunc(answer, func(a, b Announcement) int { return a.IP.Compare(b.IP) })
	c.ann.Announce(answer)
	c.answered = answer
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if !next.IsZero() {
		c.timer = time.AfterFunc(next.Sub(now), func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.replan()
		})
	}
	c.metrics.unowned(Unowned(c.services, c.live))
	c.metrics.ownership("gained", gained)
	c.metrics.ownership("lost", lost)
	c.owned = owned
}
