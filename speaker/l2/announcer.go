package l2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Announcement is an IP this node answers for, and where.
type Announcement struct {
	IP netip.Addr
	// Interfaces are the interfaces of the matching L2Advertisements; empty
	// means every interface chosen by default (see SelectInterfaces).
	Interfaces []string
	// Probe: before answering, probe whether another host holds IP (see
	// ProbeTracker). False for a takeover from another herald node, which
	// must not wait.
	Probe bool
}

// Announced is an IP answered for on one interface, as NodeState reports it.
type Announced struct {
	IP        netip.Addr
	Interface string
}

// AnnouncerConfig configures an Announcer. The zero value works: raw sockets,
// DefaultExclude, a 1s rescan and DefaultBurst.
type AnnouncerConfig struct {
	// Exclude are the name patterns of interfaces not chosen by default;
	// nil means DefaultExclude(). Check them with ValidateExclude.
	Exclude []string
	// Rescan is the longest time between two interface scans (rtnetlink
	// notifications trigger one at once); 0 means 1s.
	Rescan time.Duration
	// Burst are the times after a takeover at which gratuitous ARP and
	// unsolicited Neighbor Advertisements are sent; nil means DefaultBurst().
	Burst []time.Duration
	// OnLinks, if set, is called with every interface of the namespace
	// whenever they change (from the watching goroutine), so the caller can
	// tell when no interface it may answer on is usable and give its IPs up
	// (see Node and member.Member.SetReady).
	OnLinks func(links []Link)
	// Probe times conflict detection; the zero value is
	// DefaultProbeConfig().
	Probe ProbeConfig
	// Friendly, if set, returns the MACs of the other herald nodes: their
	// answers for an IP (the previous owner's, during a hand-over) are no
	// conflict. This node's own interfaces' MACs never are.
	Friendly func() []net.HardwareAddr
	// OnConflicts, if set, is called with Conflicts whenever they change
	// (a conflict appears, changes or clears), so that the caller reports
	// them at once rather than at its next look. It is called with the
	// Announcer's lock held and must not block nor call the Announcer.
	OnConflicts func([]Conflict)

	Metrics *Metrics
	Log     logr.Logger

	// Seams for tests; nil means ListLinks, ListenARP, ListenNDP and
	// CheckRawSocket.
	ListLinks func() ([]Link, error)
	ListenARP func(*net.Interface, *Metrics, logr.Logger) (*ARPResponder, error)
	ListenNDP func(*net.Interface, *Metrics, logr.Logger) (*NDPResponder, error)
	CheckRaw  func() error
}

// DefaultBurst sends gratuitous packets at once and four more times over the
// next second, so that a lost packet or a slow switch does not leave clients
// on the old MAC.
func DefaultBurst() []time.Duration {
	return []time.Duration{0, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second}
}

// Announcer keeps an ARP and an NDP responder on each interface where this
// node owns IPs, answering for exactly those IPs, and sends the takeover
// burst for every IP newly answered on an interface.
type Announcer struct {
	cfg AnnouncerConfig

	mu     sync.Mutex
	ctx    context.Context // nil until Run
	links  []Link
	anns   []Announcement
	ifaces map[string]*ifaceState
	pairs  map[Announced]bool
	// rawErr is why a raw socket could not be opened at start (nil: it
	// could); failed why the ARP socket of an interface the announcer
	// wants could not be opened.
	rawErr error
	failed map[string]error

	// tracker decides when IPs are probed and answered; ipIfaces are the
	// interfaces each wanted IP is probed and answered on; claims carries
	// the other hosts' claims from the responders (which must not block
	// on mu: stopping an interface waits for them) to the prober; kick
	// wakes the prober when the tracker changed.
	tracker  *ProbeTracker
	ipIfaces map[netip.Addr][]string
	claims   chan ifaceClaim
	kick     chan struct{}
	// notified are the conflicts OnConflicts was last called with.
	notified []Conflict
}

// ifaceClaim is a claim seen on an interface.
type ifaceClaim struct {
	iface string
	claim Claim
}

type ifaceState struct {
	link   Link
	arp    *ARPResponder
	ctx    context.Context
	mu     sync.Mutex // guards ndp, read by burst goroutines
	ndp    *NDPResponder
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewAnnouncer returns an Announcer answering for nothing; Run starts it.
func NewAnnouncer(cfg AnnouncerConfig) (*Announcer, error) {
	if cfg.Exclude == nil {
		cfg.Exclude = DefaultExclude()
	}
	if err := ValidateExclude(cfg.Exclude); err != nil {
		return nil, err
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = time.Second
	}
	if cfg.Burst == nil {
		cfg.Burst = DefaultBurst()
	}
	if cfg.ListLinks == nil {
		cfg.ListLinks = ListLinks
	}
	if cfg.ListenARP == nil {
		cfg.ListenARP = ListenARP
	}
	if cfg.ListenNDP == nil {
		cfg.ListenNDP = ListenNDP
	}
	if cfg.CheckRaw == nil {
		cfg.CheckRaw = CheckRawSocket
	}
	return &Announcer{cfg: cfg, ifaces: map[string]*ifaceState{}, pairs: map[Announced]bool{}, failed: map[string]error{},
		tracker: NewProbeTracker(cfg.Probe), claims: make(chan ifaceClaim, 256), kick: make(chan struct{}, 1)}, nil
}

// Run follows the interfaces and keeps the responders in line with the
// announcements until ctx is cancelled, then closes every responder.
func (a *Announcer) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.ctx != nil {
		a.mu.Unlock()
		return errors.New("announcer already running")
	}
	a.ctx = ctx
	a.mu.Unlock()

	// Whether raw sockets open at all is known before any IP is to be
	// answered for: a speaker without CAP_NET_RAW in its effective set is
	// not ready, rather than silently unable to answer later.
	if err := a.cfg.CheckRaw(); err != nil {
		a.cfg.Log.Error(err, "layer 2 mode cannot open raw sockets: this node will not answer ARP or NDP")
		a.mu.Lock()
		a.rawErr = err
		a.mu.Unlock()
	}

	defer func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		for name, st := range a.ifaces {
			st.stop()
			delete(a.ifaces, name)
		}
		a.pairs = map[Announced]bool{}
	}()

	go a.probeLoop(ctx)

	// Retry interfaces whose NDP socket could not open (the link-local
	// address is tentative for a second after a link comes up).
	go func() {
		t := time.NewTicker(a.cfg.Rescan)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.mu.Lock()
				a.reconcile()
				a.mu.Unlock()
			}
		}
	}()

	WatchLinks(ctx, a.cfg.Rescan, a.cfg.ListLinks, func(links []Link) {
		a.mu.Lock()
		a.links = links
		a.reconcile()
		a.mu.Unlock()
		if a.cfg.OnLinks != nil {
			a.cfg.OnLinks(links)
		}
	}, func(err error) { a.cfg.Log.Error(err, "watching interfaces") })
	return nil
}

// Announce replaces the IPs answered for. IPs no longer listed stop being
// answered before Announce returns; IPs newly listed are answered at once
// and announced with the takeover burst.
func (a *Announcer) Announce(anns []Announcement) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.anns = slices.Clone(anns)
	a.reconcile()
}

// Status returns the IPs answered for and on which interface, sorted.
func (a *Announcer) Status() []Announced {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Announced, 0, len(a.pairs))
	for p := range a.pairs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y Announced) int {
		if c := x.IP.Compare(y.IP); c != 0 {
			return c
		}
		return cmpString(x.Interface, y.Interface)
	})
	return out
}

// SocketError says why this node cannot answer where it should: a raw
// socket could not be opened at start (no CAP_NET_RAW), or the ARP socket
// of an interface it should answer on could not be opened (the first such
// interface by name). nil when every socket it needs is open.
func (a *Announcer) SocketError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rawErr != nil {
		return a.rawErr
	}
	names := make([]string, 0, len(a.failed))
	for n := range a.failed {
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return a.failed[names[0]]
}

// reconcile brings the responders in line with a.links and a.anns; a.mu is
// held.
func (a *Announcer) reconcile() {
	if a.ctx == nil || a.ctx.Err() != nil {
		return
	}
	def := SelectInterfaces(a.links, nil, a.cfg.Exclude)
	want := map[string]Link{}
	// watched are the IPs wanted on an interface (probed, their claims
	// watched), ips those answered there.
	watched := map[string][]netip.Addr{}
	ips := map[string][]netip.Addr{}
	probe := make(map[netip.Addr]bool, len(a.anns))
	for _, ann := range a.anns {
		probe[ann.IP] = ann.Probe
	}
	a.tracker.Set(probe, time.Now())
	a.noteConflicts()
	a.ipIfaces = map[netip.Addr][]string{}
	for _, ann := range a.anns {
		sel := def
		if len(ann.Interfaces) > 0 {
			sel = SelectInterfaces(a.links, ann.Interfaces, nil)
		}
		for _, l := range sel {
			want[l.Name] = l
			watched[l.Name] = append(watched[l.Name], ann.IP)
			a.ipIfaces[ann.IP] = append(a.ipIfaces[ann.IP], l.Name)
			if a.tracker.Answerable(ann.IP) {
				ips[l.Name] = append(ips[l.Name], ann.IP)
			}
		}
	}
	a.signal()

	for name, st := range a.ifaces {
		if l, ok := want[name]; !ok || l.Index != st.link.Index || !bytes.Equal(l.HardwareAddr, st.link.HardwareAddr) {
			st.stop()
			delete(a.ifaces, name)
		}
	}
	for name := range a.failed {
		if _, ok := want[name]; !ok {
			delete(a.failed, name)
		}
	}
	for name, l := range want {
		st := a.ifaces[name]
		if st == nil {
			var err error
			if st, err = a.start(l); err != nil {
				a.failed[name] = err
				continue
			}
			delete(a.failed, name)
			a.ifaces[name] = st
		}
		if st.getNDP() == nil && slices.ContainsFunc(watched[name], netip.Addr.Is6) {
			a.startNDP(st)
		}
	}

	pairs := map[Announced]bool{}
	for name, st := range a.ifaces {
		st.arp.SetWatched(watched[name])
		st.arp.SetIPs(ips[name])
		if ndp := st.getNDP(); ndp != nil {
			ndp.SetWatched(watched[name])
			if err := ndp.SetIPs(ips[name]); err != nil {
				a.cfg.Log.Error(err, "joining solicited-node groups", "interface", name)
			}
		}
		for _, ip := range ips[name] {
			p := Announced{IP: ip, Interface: name}
			pairs[p] = true
			if !a.pairs[p] {
				st.wg.Add(1)
				go a.burst(st, ip)
			}
		}
	}
	a.pairs = pairs
}

// start opens the responders of l; an error if ARP cannot be opened.
func (a *Announcer) start(l Link) (*ifaceState, error) {
	ifi := l.Interface()
	arp, err := a.cfg.ListenARP(ifi, a.cfg.Metrics, a.cfg.Log)
	if err != nil {
		if a.failed[l.Name] == nil {
			a.cfg.Log.Error(err, "starting ARP responder", "interface", l.Name)
		}
		return nil, err
	}
	arp.Watch(a.claimFunc(l.Name))
	ctx, cancel := context.WithCancel(a.ctx)
	st := &ifaceState{link: l, arp: arp, ctx: ctx, cancel: cancel}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		if err := arp.Run(ctx); err != nil {
			a.cfg.Log.Error(err, "ARP responder stopped", "interface", l.Name)
		}
	}()
	a.startNDP(st)
	return st, nil
}

func (a *Announcer) startNDP(st *ifaceState) {
	ndp, err := a.cfg.ListenNDP(st.link.Interface(), a.cfg.Metrics, a.cfg.Log)
	if err != nil {
		a.cfg.Log.V(1).Info("NDP responder not started yet", "interface", st.link.Name, "error", err.Error())
		return
	}
	ndp.Watch(a.claimFunc(st.link.Name))
	st.mu.Lock()
	st.ndp = ndp
	st.mu.Unlock()
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		if err := ndp.Run(st.ctx); err != nil {
			a.cfg.Log.Error(err, "NDP responder stopped", "interface", st.link.Name)
		}
	}()
}

func (st *ifaceState) getNDP() *NDPResponder {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ndp
}

// stop makes the responders answer nothing at once, then closes them.
func (st *ifaceState) stop() {
	st.arp.SetIPs(nil)
	if ndp := st.getNDP(); ndp != nil {
		_ = ndp.SetIPs(nil)
	}
	st.cancel()
	st.wg.Wait()
}

// burst sends the takeover packets for ip on st at the configured times,
// stopping early once ip is no longer answered there.
func (a *Announcer) burst(st *ifaceState, ip netip.Addr) {
	defer st.wg.Done()
	start := time.Now()
	for _, at := range a.cfg.Burst {
		if d := time.Until(start.Add(at)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-st.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		var err error
		ndp := st.getNDP()
		switch {
		case ip.Unmap().Is4():
			err = st.arp.Gratuitous(ip)
		case ndp != nil:
			err = ndp.Gratuitous(ip)
		default:
			err = fmt.Errorf("no NDP responder on %s: %w", st.link.Name, ErrNotOwned)
		}
		if errors.Is(err, ErrNotOwned) || st.ctx.Err() != nil {
			return
		}
		if err != nil {
			a.cfg.Log.Error(err, "sending gratuitous announcement", "ip", ip, "interface", st.link.Name)
		}
	}
}
