package l2

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/heraldlb/herald/speaker/l2/member"
)

// NodeConfig configures a Node.
type NodeConfig struct {
	// Member configures liveness; its Name is this node's name and its
	// OnChange is set by NewNode.
	Member member.Config
	// Announcer configures the responders; its OnLinks, Friendly and
	// OnConflicts are set by NewNode.
	Announcer AnnouncerConfig
	// AnsweredBefore are the IPs herald nodes answered for when this node
	// started: this node's own before it restarted, the other nodes' now
	// (every NodeState's status.l2Announcements). Those this node owns at
	// start-up are answered at once, not probed (see
	// Coordinator.SetAnsweredBefore).
	AnsweredBefore []netip.Addr
	// LeaveTimeout bounds how long Run waits for the leave message to go out
	// when it ends; 0 means 1s.
	LeaveTimeout time.Duration
}

// Node is Layer 2 mode on one node, wired together: membership says who is
// live, the coordinator picks the IPs this node owns, the announcer answers
// for them. A node that cannot answer for one of the Services it is
// eligible for — the interfaces the Service names are down here, or, for a
// Service naming none, every default interface is — says it is not ready,
// so that the others take its IPs over, and comes back through the ready
// handshake (member.Member.Live) once its interfaces are back: never
// answering at once on a link that returns while another node answers in
// its place. (A Service naming only interfaces this node does not have is
// not this node's to answer on, and does not make it not ready.)
type Node struct {
	cfg   NodeConfig
	ann   *Announcer
	coord *Coordinator
	mem   *member.Member

	mu       sync.Mutex
	links    []Link
	services []Service

	// conflicts gets a value when the conflicts change (see
	// ConflictsChanged).
	conflicts chan struct{}
	// stopping: Run is handing the IPs over; the node stays not ready.
	stopping bool
}

// NewNode binds the membership port and prepares the announcer; Run starts
// them.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.LeaveTimeout <= 0 {
		cfg.LeaveTimeout = time.Second
	}
	n := &Node{cfg: cfg, conflicts: make(chan struct{}, 1)}
	cfg.Announcer.OnLinks = n.onLinks
	cfg.Announcer.OnConflicts = func([]Conflict) {
		select {
		case n.conflicts <- struct{}{}:
		default:
		}
	}
	cfg.Announcer.Friendly = func() []net.HardwareAddr { return n.mem.PeerMACs() }
	ann, err := NewAnnouncer(cfg.Announcer)
	if err != nil {
		return nil, fmt.Errorf("layer 2 node %s: %w", cfg.Member.Name, err)
	}
	n.ann = ann
	n.coord = NewCoordinator(cfg.Member.Name, ann, cfg.Announcer.Metrics)
	n.coord.SetAnsweredBefore(cfg.AnsweredBefore)
	cfg.Member.OnChange = n.coord.SetLive
	mem, err := member.New(cfg.Member)
	if err != nil {
		return nil, fmt.Errorf("layer 2 node %s: %w", cfg.Member.Name, err)
	}
	n.mem = mem
	return n, nil
}

func (n *Node) onLinks(links []Link) {
	n.mu.Lock()
	n.links = links
	up := n.usable() && !n.stopping
	n.mu.Unlock()
	macs := make([]net.HardwareAddr, 0, len(links))
	for _, l := range links {
		macs = append(macs, l.HardwareAddr)
	}
	n.mem.SetMACs(macs)
	n.mem.SetReady(up)
}

// usable reports whether this node can answer for every Service it is
// eligible for (see Node), and has an interface to answer on at all (a
// default one, or one a Service names). n.mu is held.
func (n *Node) usable() bool {
	def := len(SelectInterfaces(n.links, nil, n.ann.cfg.Exclude)) > 0
	var named []string
	for _, s := range n.services {
		named = append(named, s.Interfaces...)
		if !slices.Contains(s.Nodes, n.cfg.Member.Name) {
			continue
		}
		if len(s.Interfaces) == 0 {
			if !def {
				return false
			}
			continue
		}
		present := slices.ContainsFunc(n.links, func(l Link) bool { return slices.Contains(s.Interfaces, l.Name) })
		if present && len(SelectInterfaces(n.links, s.Interfaces, nil)) == 0 {
			return false
		}
	}
	return def || (len(named) > 0 && len(SelectInterfaces(n.links, named, nil)) > 0)
}

// SetServices replaces the Services announced in Layer 2 mode.
func (n *Node) SetServices(s []Service) {
	n.mu.Lock()
	n.services = slices.Clone(s)
	up, scanned := n.usable() && !n.stopping, n.links != nil
	n.mu.Unlock()
	if scanned {
		n.mem.SetReady(up)
	}
	n.coord.SetServices(s)
}

// Status returns the IPs this node answers for and where.
func (n *Node) Status() []Announced { return n.ann.Status() }

// Conflicts returns the Service IPs this node owns that another host
// holds (see ProbeTracker).
func (n *Node) Conflicts() []Conflict { return n.ann.Conflicts() }

// ConflictsChanged receives a value when Conflicts changed (a conflict
// appeared, changed or cleared); changes made while a value waits are
// merged into it. Read Conflicts after receiving.
func (n *Node) ConflictsChanged() <-chan struct{} { return n.conflicts }

// SocketError says why this node cannot open the raw sockets it answers
// with (see Announcer.SocketError); nil when it can.
func (n *Node) SocketError() error { return n.ann.SocketError() }

// Owned returns the IPs this node owns.
func (n *Node) Owned() []netip.Addr { return n.coord.Owned() }

// SetMemberKeys changes the keys encrypting membership traffic while the
// node runs (see member.Member.SetKeys): call it when the Secret holding
// them changes.
func (n *Node) SetMemberKeys(keys [][]byte) error { return n.mem.SetKeys(keys) }

// Live returns the live, ready nodes as this node sees them.
func (n *Node) Live() []string { return n.mem.Live() }

// Run answers and keeps membership until ctx is cancelled; then it hands
// its IPs over — it says it is not ready, so that the others take them over
// and send their gratuitous ARP / unsolicited NA, while it answers for the
// hand-off time (DefaultHandoff) — stops answering and leaves the cluster,
// so the others take over without waiting for failure detection.
func (n *Node) Run(ctx context.Context) error {
	annCtx, stopAnn := context.WithCancel(context.Background())
	annDone := make(chan error, 1)
	go func() { annDone <- n.ann.Run(annCtx) }()
	n.mu.Lock()
	up := n.usable()
	n.mu.Unlock()
	n.mem.SetReady(up)
	memDone := make(chan struct{})
	go func() { defer close(memDone); n.mem.Run(ctx) }()
	<-ctx.Done()

	n.mu.Lock()
	n.stopping = true
	n.mu.Unlock()
	if len(n.coord.Owned()) > 0 {
		n.mem.SetReady(false)
		// Every IP is handed off now (or had no other node to go to);
		// answer until the hand-offs end.
		t := time.NewTimer(n.coord.handoffTime())
		<-t.C
	}
	// Stop answering (closing every responder), then tell the others.
	stopAnn()
	err := <-annDone
	<-memDone
	if lerr := n.mem.Leave(n.cfg.LeaveTimeout); err == nil {
		err = lerr
	}
	return err
}
