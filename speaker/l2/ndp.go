package l2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/go-logr/logr"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// ErrNotOwned is returned when asked to announce an IP the responder does not
// answer for.
var ErrNotOwned = errors.New("IP not answered for on this interface")

// allNodes is ff02::1, where unsolicited Neighbor Advertisements go.
var allNodes = netip.MustParseAddr("ff02::1")

// NDPConn is the part of *ndp.Conn an NDPResponder uses; *ndp.Conn
// implements it.
type NDPConn interface {
	ReadFrom() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error)
	WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error
	JoinGroup(group netip.Addr) error
	LeaveGroup(group netip.Addr) error
	Close() error
}

// NDPResponder answers Neighbor Solicitations on one interface for the IPv6
// addresses it is given, with the interface's MAC, joining each address's
// solicited-node multicast group while it answers for it.
type NDPResponder struct {
	ifi     *net.Interface
	conn    NDPConn
	ips     ipSet
	watch   ipSet
	onClaim func(Claim)
	metrics *Metrics
	log     logr.Logger

	mu     sync.Mutex
	groups map[netip.Addr]int // solicited-node group → IPs needing it

	// fromTarget sends advertisements from the target address.
	fromTarget bool
}

// ListenNDP opens an ICMPv6 socket on ifi (needs CAP_NET_RAW and a
// link-local address on ifi) to send and join groups, and a packet socket
// receiving Neighbor Solicitations, multicast and unicast alike (a unicast
// solicitation to a Service IP never reaches an IP socket: the IP is not
// the node's own), and returns a responder on them answering for no IP yet. Advertisements are sent
// from the advertised IP itself, as the kernel does for its own addresses
// (some tools, ndisc6 among them, ignore advertisements for a global target
// coming from a link-local address); on kernels without IPV6_FREEBIND they
// come from the link-local address.
func ListenNDP(ifi *net.Interface, metrics *Metrics, log logr.Logger) (*NDPResponder, error) {
	conn, err := listenICMPv6(ifi)
	if err != nil {
		return nil, err
	}
	r := NewNDPResponder(ifi, conn, metrics, log)
	r.fromTarget = conn.freebind
	return r, nil
}

// NewNDPResponder returns a responder on conn, which it owns and closes when
// Run ends.
func NewNDPResponder(ifi *net.Interface, conn NDPConn, metrics *Metrics, log logr.Logger) *NDPResponder {
	return &NDPResponder{
		ifi: ifi, conn: conn, metrics: metrics,
		log:    log.WithValues("interface", ifi.Name, "protocol", "ndp"),
		groups: map[netip.Addr]int{},
	}
}

// SetIPs replaces the IPs answered for, joining the solicited-node groups of
// new IPs and leaving those no IP needs any more; IPv4 addresses are ignored.
// IPs are answered for even if joining their group fails (unicast
// solicitations still reach us); the error says which groups failed.
func (r *NDPResponder) SetIPs(ips []netip.Addr) error {
	v6 := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if ip.Is6() && !ip.Is4In6() {
			v6 = append(v6, ip.WithZone(""))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added, removed := r.ips.replace(v6)
	var errs []error
	for _, ip := range removed {
		g, _ := ndp.SolicitedNodeMulticast(ip)
		r.groups[g]--
		if r.groups[g] > 0 {
			continue
		}
		delete(r.groups, g)
		if err := r.conn.LeaveGroup(g); err != nil {
			errs = append(errs, fmt.Errorf("leaving %s for %s on %s: %w", g, ip, r.ifi.Name, err))
		}
	}
	for _, ip := range added {
		g, _ := ndp.SolicitedNodeMulticast(ip)
		r.groups[g]++
		if r.groups[g] > 1 {
			continue
		}
		if err := r.conn.JoinGroup(g); err != nil {
			errs = append(errs, fmt.Errorf("joining %s for %s on %s: %w", g, ip, r.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Watch sets the function the claims of another host (see NDPClaim) on the
// watched IPv6 addresses go to, from Run's goroutine: it must not block.
// Call it before Run.
func (r *NDPResponder) Watch(onClaim func(Claim)) { r.onClaim = onClaim }

// SetWatched replaces the addresses whose claims are reported.
func (r *NDPResponder) SetWatched(ips []netip.Addr) {
	var v6 []netip.Addr
	for _, ip := range ips {
		if ip.Is6() && !ip.Is4In6() {
			v6 = append(v6, ip.WithZone(""))
		}
	}
	r.watch.replace(v6)
}

// frameWriter sends whole Ethernet frames: the raw side of the connection
// (icmpv6Conn), needed to send from ::.
type frameWriter interface {
	WriteFrame(b []byte, dst net.HardwareAddr) error
}

// ethernetSourcer tells the source MAC of the last message read.
type ethernetSourcer interface {
	EthernetSource() net.HardwareAddr
}

// Probe sends a duplicate address detection solicitation for ip (from ::,
// to its solicited-node group): the host using ip answers with an
// advertisement to all nodes.
func (r *NDPResponder) Probe(ip netip.Addr) error {
	fw, ok := r.conn.(frameWriter)
	if !ok {
		return fmt.Errorf("duplicate address detection for %s on %s: the connection cannot send frames", ip, r.ifi.Name)
	}
	f, dst, err := DADProbe(r.ifi.HardwareAddr, ip)
	if err != nil {
		return err
	}
	if err := fw.WriteFrame(f, dst); err != nil {
		return fmt.Errorf("sending duplicate address detection for %s on %s: %w", ip, r.ifi.Name, err)
	}
	return nil
}

// claim reports the claim m from src makes, if it is watched.
func (r *NDPResponder) claim(m ndp.Message, src netip.Addr) {
	if r.onClaim == nil {
		return
	}
	var eth net.HardwareAddr
	if es, ok := r.conn.(ethernetSourcer); ok {
		eth = es.EthernetSource()
	}
	if c, ok := NDPClaim(m, src, eth); ok && !bytes.Equal(c.MAC, r.ifi.HardwareAddr) && r.watch.has(c.IP) {
		r.onClaim(c)
	}
}

// Groups returns the solicited-node multicast groups joined.
func (r *NDPResponder) Groups() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s ipSet
	gs := make([]netip.Addr, 0, len(r.groups))
	for g := range r.groups {
		gs = append(gs, g)
	}
	s.replace(gs)
	return s.list()
}

// Run answers solicitations until ctx is cancelled or the connection fails,
// and closes the connection. It returns nil when ctx is cancelled.
func (r *NDPResponder) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { r.conn.Close() })
	defer stop()
	defer r.conn.Close()
	for {
		m, _, src, err := r.conn.ReadFrom()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading NDP on %s: %w", r.ifi.Name, err)
		}
		r.claim(m, src)
		ns, ok := m.(*ndp.NeighborSolicitation)
		if !ok || !r.ips.has(ns.TargetAddress.WithZone("")) {
			continue
		}
		// A solicitation from the unspecified address is duplicate address
		// detection: the answer goes to all nodes, unsolicited (RFC 4861 7.2.4).
		dst, solicited := src, true
		if src.WithZone("").IsUnspecified() {
			dst, solicited = allNodes, false
		}
		if err := r.advertise(ns.TargetAddress.WithZone(""), dst, solicited); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error(err, "answering neighbor solicitation", "ip", ns.TargetAddress, "from", src)
			continue
		}
		r.metrics.answered("ndp", r.ifi.Name)
	}
}

// Gratuitous sends an unsolicited Neighbor Advertisement with the Override
// flag for ip to all nodes. It fails for an IP not answered for.
func (r *NDPResponder) Gratuitous(ip netip.Addr) error {
	ip = ip.WithZone("")
	if !r.ips.has(ip) {
		return fmt.Errorf("unsolicited neighbor advertisement for %s on %s: %w", ip, r.ifi.Name, ErrNotOwned)
	}
	if err := r.advertise(ip, allNodes, false); err != nil {
		return err
	}
	r.metrics.gratuitous("ndp", r.ifi.Name)
	return nil
}

// advertise sends a Neighbor Advertisement for target to dst. Override is
// always set: the IP moves between nodes and the newest answer must win.
func (r *NDPResponder) advertise(target, dst netip.Addr, solicited bool) error {
	na := &ndp.NeighborAdvertisement{
		Solicited:     solicited,
		Override:      true,
		TargetAddress: target,
		Options: []ndp.Option{&ndp.LinkLayerAddress{
			Direction: ndp.Target,
			Addr:      r.ifi.HardwareAddr,
		}},
	}
	var cm *ipv6.ControlMessage
	if r.fromTarget {
		cm = &ipv6.ControlMessage{HopLimit: ndp.HopLimit, Src: target.AsSlice(), IfIndex: r.ifi.Index}
	}
	if err := r.conn.WriteTo(na, cm, dst); err != nil {
		return fmt.Errorf("sending neighbor advertisement for %s on %s to %s: %w", target, r.ifi.Name, dst, err)
	}
	return nil
}
