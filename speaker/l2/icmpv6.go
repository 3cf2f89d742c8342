package l2

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// icmpv6Conn is an NDPConn that sends advertisements and joins groups on a
// raw ICMPv6 socket bound to one interface's link-local address (built like
// ndp.Listen but with IPV6_FREEBIND so that advertisements can be sent from
// the Service IP), and reads solicitations from a packet socket. The ICMPv6
// socket would only see solicitations sent to a multicast group it joined
// or to its own address: the kernel drops a unicast solicitation to a
// Service IP (the neighbor unreachability detection of a client that knows
// the MAC) before any IP socket, since the IP is not one of its own. The
// packet socket sees both, before the IP layer.
type icmpv6Conn struct {
	ifi      *net.Interface
	ip       *net.IPConn
	pc       *ipv6.PacketConn
	raw      *packet.Conn
	self     netip.Addr
	freebind bool
	buf      []byte
	lastSrc  net.HardwareAddr // Ethernet source of the last frame read
}

func listenICMPv6(ifi *net.Interface) (*icmpv6Conn, error) {
	ll, err := linkLocal(ifi)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenIP("ip6:ipv6-icmp", &net.IPAddr{IP: ll.AsSlice(), Zone: ifi.Name})
	if err != nil {
		return nil, fmt.Errorf("opening NDP socket on %s: %w", ifi.Name, err)
	}
	raw, err := packet.Listen(ifi, packet.Raw, 0x86dd, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("opening NDP packet socket on %s: %w", ifi.Name, err)
	}
	snap := max(ifi.MTU, 1280) + ethHeaderLen
	conn := &icmpv6Conn{ifi: ifi, ip: c, pc: ipv6.NewPacketConn(c), raw: raw, self: ll, buf: make([]byte, snap)}
	// The ICMPv6 socket only sends: it reads nothing.
	var f ipv6.ICMPFilter
	f.SetAll(true)
	filter, err := ndpFilter(uint32(snap))
	setup := []error{
		err,
		raw.SetBPF(filter),
		conn.pc.SetHopLimit(ndp.HopLimit),
		conn.pc.SetMulticastHopLimit(ndp.HopLimit),
		conn.pc.SetChecksum(true, 2),
		conn.pc.SetICMPFilter(&f),
	}
	if err := errors.Join(setup...); err != nil {
		c.Close()
		raw.Close()
		return nil, fmt.Errorf("setting up NDP socket on %s: %w", ifi.Name, err)
	}
	if rc, err := c.SyscallConn(); err == nil {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1)
		}); err == nil && serr == nil {
			conn.freebind = true
		}
	}
	return conn, nil
}

// linkLocal returns ifi's IPv6 link-local address.
func linkLocal(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("no IPv6 link-local address on %s yet (IPv6 disabled, or duplicate address detection still running)", ifi.Name)
}

// ReadFrom returns the next valid Neighbor Solicitation, multicast or
// unicast, or Neighbor Advertisement, from another host.
func (c *icmpv6Conn) ReadFrom() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error) {
	for {
		n, _, err := c.raw.ReadFrom(c.buf)
		if err != nil {
			return nil, nil, netip.Addr{}, err
		}
		m, src, ok := parseNDPFrame(c.buf[:n])
		if !ok || src == c.self || bytes.Equal(c.buf[6:12], c.ifi.HardwareAddr) {
			continue // malformed, not NDP, or ours
		}
		c.lastSrc = net.HardwareAddr(bytes.Clone(c.buf[6:12]))
		return m, nil, src.WithZone(c.ifi.Name), nil
	}
}

// EthernetSource is the source MAC of the frame ReadFrom last returned.
func (c *icmpv6Conn) EthernetSource() net.HardwareAddr { return c.lastSrc }

// WriteFrame sends a whole Ethernet frame (a duplicate address detection
// probe, which the ICMPv6 socket cannot send from ::) to dst.
func (c *icmpv6Conn) WriteFrame(b []byte, dst net.HardwareAddr) error {
	_, err := c.raw.WriteTo(b, &packet.Addr{HardwareAddr: dst})
	return err
}

func (c *icmpv6Conn) WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error {
	b, err := ndp.MarshalMessage(m)
	if err != nil {
		return err
	}
	if cm == nil {
		cm = &ipv6.ControlMessage{HopLimit: ndp.HopLimit, Src: c.self.AsSlice(), IfIndex: c.ifi.Index}
	}
	_, err = c.pc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice(), Zone: c.ifi.Name})
	return err
}

func (c *icmpv6Conn) JoinGroup(g netip.Addr) error {
	return c.pc.JoinGroup(c.ifi, &net.IPAddr{IP: g.AsSlice()})
}

func (c *icmpv6Conn) LeaveGroup(g netip.Addr) error {
	return c.pc.LeaveGroup(c.ifi, &net.IPAddr{IP: g.AsSlice()})
}

func (c *icmpv6Conn) Close() error { return errors.Join(c.raw.Close(), c.ip.Close()) }
