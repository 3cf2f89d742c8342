package l2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/go-logr/logr"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
)

// ARPResponder answers ARP requests on one interface for the IPv4 addresses
// it is given, with the interface's MAC, and sends gratuitous ARP.
type ARPResponder struct {
	ifi     *net.Interface
	conn    net.PacketConn
	ips     ipSet
	watch   ipSet
	onClaim func(Claim)
	metrics *Metrics
	log     logr.Logger
}

// ListenARP opens a raw packet socket for ARP on ifi (needs CAP_NET_RAW) and
// returns a responder on it answering for no IP yet.
func ListenARP(ifi *net.Interface, metrics *Metrics, log logr.Logger) (*ARPResponder, error) {
	conn, err := packet.Listen(ifi, packet.Raw, int(ethernet.EtherTypeARP), nil)
	if err != nil {
		return nil, fmt.Errorf("opening ARP socket on %s: %w", ifi.Name, err)
	}
	return NewARPResponder(ifi, conn, metrics, log), nil
}

// CheckRawSocket opens and closes a raw packet socket for ARP on the
// loopback interface: it fails when the process lacks CAP_NET_RAW in its
// effective set (for a non-root user, a container's capabilities.add only
// reaches the bounding set), which ListenARP would meet on every interface.
func CheckRawSocket() error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return fmt.Errorf("checking raw sockets: %w", err)
	}
	conn, err := packet.Listen(lo, packet.Raw, int(ethernet.EtherTypeARP), nil)
	if err != nil {
		return fmt.Errorf("opening a raw packet socket (needs CAP_NET_RAW in the effective set: run the speaker as uid 0 with capabilities drop ALL, add NET_RAW): %w", err)
	}
	return conn.Close()
}

// NewARPResponder returns a responder reading and writing whole Ethernet
// frames on conn, which it owns and closes when Run ends. Frames are written
// to a *packet.Addr holding the destination MAC.
func NewARPResponder(ifi *net.Interface, conn net.PacketConn, metrics *Metrics, log logr.Logger) *ARPResponder {
	return &ARPResponder{ifi: ifi, conn: conn, metrics: metrics, log: log.WithValues("interface", ifi.Name, "protocol", "arp")}
}

// SetIPs replaces the IPs answered for; IPv6 addresses are ignored. It takes
// effect for the next request read.
func (r *ARPResponder) SetIPs(ips []netip.Addr) {
	v4 := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			v4 = append(v4, ip.Unmap())
		}
	}
	r.ips.replace(v4)
}

// Watch sets the function the claims of another host (see ParseARPClaim)
// on the watched IPv4 addresses go to, from Run's goroutine: it must not
// block. Call it before Run.
func (r *ARPResponder) Watch(onClaim func(Claim)) { r.onClaim = onClaim }

// SetWatched replaces the addresses whose claims are reported.
func (r *ARPResponder) SetWatched(ips []netip.Addr) {
	var v4 []netip.Addr
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			v4 = append(v4, ip.Unmap())
		}
	}
	r.watch.replace(v4)
}

// Probe broadcasts an RFC 5227 ARP probe for ip.
func (r *ARPResponder) Probe(ip netip.Addr) error {
	f, err := ARPProbe(r.ifi.HardwareAddr, ip)
	if err != nil {
		return err
	}
	if _, err := r.conn.WriteTo(f, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
		return fmt.Errorf("sending ARP probe for %s on %s: %w", ip, r.ifi.Name, err)
	}
	return nil
}

// Run answers requests until ctx is cancelled or the connection fails, and
// closes the connection. It returns nil when ctx is cancelled.
func (r *ARPResponder) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { r.conn.Close() })
	defer stop()
	defer r.conn.Close()
	buf := make([]byte, 1514)
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading ARP on %s: %w", r.ifi.Name, err)
		}
		if r.onClaim != nil {
			if c, ok := ParseARPClaim(buf[:n]); ok && !bytes.Equal(c.MAC, r.ifi.HardwareAddr) && r.watch.has(c.IP) {
				r.onClaim(c)
			}
		}
		req, ok := parseARPRequest(buf[:n])
		// A gratuitous request (sender IP = target IP) asks nothing: a
		// reply would only tell its sender, another host claiming the IP,
		// that this node does too (conflict detection reports it).
		if !ok || bytes.Equal(req.SenderHardwareAddr, r.ifi.HardwareAddr) || !r.ips.has(req.TargetIP) || req.SenderIP == req.TargetIP {
			continue
		}
		if err := r.reply(req); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error(err, "answering ARP request", "ip", req.TargetIP, "from", req.SenderHardwareAddr)
			continue
		}
		r.metrics.answered("arp", r.ifi.Name)
	}
}

// parseARPRequest returns the ARP request held by an Ethernet frame.
func parseARPRequest(b []byte) (*arp.Packet, bool) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil || f.EtherType != ethernet.EtherTypeARP {
		return nil, false
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil || p.Operation != arp.OperationRequest {
		return nil, false
	}
	return &p, true
}

func (r *ARPResponder) reply(req *arp.Packet) error {
	p, err := arp.NewPacket(arp.OperationReply, r.ifi.HardwareAddr, req.TargetIP, req.SenderHardwareAddr, req.SenderIP)
	if err != nil {
		return fmt.Errorf("building ARP reply: %w", err)
	}
	return r.write(p, req.SenderHardwareAddr)
}

// Gratuitous broadcasts ip's binding to this interface's MAC twice: as an
// ARP announcement (a request with sender and target IP both ip, RFC 5227)
// and as a gratuitous reply (target MAC equal to the sender's, which is the
// form Linux accepts as gratuitous for replies). It fails for an IP not
// answered for, so a lost IP is never announced.
func (r *ARPResponder) Gratuitous(ip netip.Addr) error {
	ip = ip.Unmap()
	if !r.ips.has(ip) {
		return fmt.Errorf("gratuitous ARP for %s on %s: %w", ip, r.ifi.Name, ErrNotOwned)
	}
	zero := make(net.HardwareAddr, len(r.ifi.HardwareAddr))
	req, err := arp.NewPacket(arp.OperationRequest, r.ifi.HardwareAddr, ip, zero, ip)
	if err != nil {
		return fmt.Errorf("building gratuitous ARP for %s on %s: %w", ip, r.ifi.Name, err)
	}
	rep, err := arp.NewPacket(arp.OperationReply, r.ifi.HardwareAddr, ip, r.ifi.HardwareAddr, ip)
	if err != nil {
		return fmt.Errorf("building gratuitous ARP for %s on %s: %w", ip, r.ifi.Name, err)
	}
	var errs []error
	for _, p := range []*arp.Packet{req, rep} {
		if err := r.write(p, ethernet.Broadcast); err != nil {
			errs = append(errs, err)
			continue
		}
		r.metrics.gratuitous("arp", r.ifi.Name)
	}
	return errors.Join(errs...)
}

func (r *ARPResponder) write(p *arp.Packet, dst net.HardwareAddr) error {
	pb, err := p.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encoding ARP packet: %w", err)
	}
	f := ethernet.Frame{Destination: dst, Source: r.ifi.HardwareAddr, EtherType: ethernet.EtherTypeARP, Payload: pb}
	fb, err := f.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encoding Ethernet frame: %w", err)
	}
	if _, err := r.conn.WriteTo(fb, &packet.Addr{HardwareAddr: dst}); err != nil {
		return fmt.Errorf("sending ARP on %s to %s: %w", r.ifi.Name, dst, err)
	}
	return nil
}
