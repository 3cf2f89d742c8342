package l2

import (
	"net/netip"
	"slices"
	"sync"

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

// Coordinator keeps an announcer answering for the IPs this node owns as the
// Services and the live nodes change, and counts ownership and membership
// changes.
type Coordinator struct {
	node    string
	ann     interface{ Announce([]Announcement) }
	metrics *Metrics

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
}

// NewCoordinator returns a Coordinator for node driving ann (an *Announcer
// outside tests). It announces nothing until SetLive names node.
func NewCoordinator(node string, ann interface{ Announce([]Announcement) }, metrics *Metrics) *Coordinator {
	return &Coordinator{node: node, ann: ann, metrics: metrics, owned: map[netip.Addr]bool{}, probe: map[netip.Addr]bool{},
		before: map[netip.Addr]bool{}}
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

// Owned returns the IPs this node answers for, sorted.
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
	c.ann.Announce(anns)
	c.metrics.unowned(Unowned(c.services, c.live))
	c.metrics.ownership("gained", gained)
	c.metrics.ownership("lost", lost)
	c.owned = owned
}
