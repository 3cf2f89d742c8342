package l2

import (
	"context"
	"fmt"
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
	// Announcer configures the responders; its OnLinks is set by NewNode.
	Announcer AnnouncerConfig
	// LeaveTimeout bounds how long Run waits for the leave message to go out
	// when it ends; 0 means 1s.
	LeaveTimeout time.Duration
}

// Node is Layer 2 mode on one node, wired together: membership says who is
// live, the coordinator picks the IPs this node owns, the announcer answers
// for them. A node whose default interfaces are all down says it is not
// ready, so that the others take its IPs over. (An IP whose Service names
// interfaces that are all down on the owner is not moved: the others cannot
// see this node's interfaces.)
type Node struct {
	cfg   NodeConfig
	ann   *Announcer
	coord *Coordinator
	mem   *member.Member

	mu       sync.Mutex
	links    []Link
	services []Service
}

// NewNode binds the membership port and prepares the announcer; Run starts
// them.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.LeaveTimeout <= 0 {
		cfg.LeaveTimeout = time.Second
	}
	n := &Node{cfg: cfg}
	cfg.Announcer.OnLinks = n.onLinks
	ann, err := NewAnnouncer(cfg.Announcer)
	if err != nil {
		return nil, fmt.Errorf("layer 2 node %s: %w", cfg.Member.Name, err)
	}
	n.ann = ann
	n.coord = NewCoordinator(cfg.Member.Name, ann, cfg.Announcer.Metrics)
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
	up := n.usable()
	n.mu.Unlock()
	n.mem.SetReady(up)
}

// usable reports whether this node has an interface it may answer on: one
// chosen by default, or one named by a Service; n.mu is held.
func (n *Node) usable() bool {
	if len(SelectInterfaces(n.links, nil, n.ann.cfg.Exclude)) > 0 {
		return true
	}
	var named []string
	for _, s := range n.services {
		named = append(named, s.Interfaces...)
	}
	return len(named) > 0 && len(SelectInterfaces(n.links, named, nil)) > 0
}

// SetServices replaces the Services announced in Layer 2 mode.
func (n *Node) SetServices(s []Service) {
	n.mu.Lock()
	n.services = slices.Clone(s)
	up, scanned := n.usable(), n.links != nil
	n.mu.Unlock()
	if scanned {
		n.mem.SetReady(up)
	}
	n.coord.SetServices(s)
}

// Status returns the IPs this node answers for and where.
func (n *Node) Status() []Announced { return n.ann.Status() }

// Owned returns the IPs this node owns.
func (n *Node) Owned() []netip.Addr { return n.coord.Owned() }

// SetMemberKeys changes the keys encrypting membership traffic while the
// node runs (see member.Member.SetKeys): call it when the Secret holding
// them changes.
func (n *Node) SetMemberKeys(keys [][]byte) error { return n.mem.SetKeys(keys) }

// Live returns the live, ready nodes as this node sees them.
func (n *Node) Live() []string { return n.mem.Live() }

// Run answers and keeps membership until ctx is cancelled; then it stops
// answering at once and leaves the cluster, so the others take over without
// waiting for failure detection.
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

	// Stop answering first (closing every responder), then tell the others.
	stopAnn()
	err := <-annDone
	<-memDone
	if lerr := n.mem.Leave(n.cfg.LeaveTimeout); err == nil {
		err = lerr
	}
	return err
}
