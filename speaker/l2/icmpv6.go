package l2

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// icmpv6Conn is an NDPConn on a raw ICMPv6 socket bound to one interface's
// link-local address, built like ndp.Listen but with IPV6_FREEBIND so that
// advertisements can be sent from the Service IP.
type icmpv6Conn struct {
	ifi      *net.Interface
	ip       *net.IPConn
	pc       *ipv6.PacketConn
	self     netip.Addr
	freebind bool
	buf      []byte
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
	conn := &icmpv6Conn{ifi: ifi, ip: c, pc: ipv6.NewPacketConn(c), self: ll, buf: make([]byte, max(ifi.MTU, 1280))}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeNeighborSolicitation)
	setup := []error{
		conn.pc.SetHopLimit(ndp.HopLimit),
		conn.pc.SetMulticastHopLimit(ndp.HopLimit),
		conn.pc.SetChecksum(true, 2),
		conn.pc.SetICMPFilter(&f),
	}
	if err := errors.Join(setup...); err != nil {
		c.Close()
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

func (c *icmpv6Conn) ReadFrom() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error) {
	for {
		n, cm, src, err := c.pc.ReadFrom(c.buf)
		if err != nil {
			return nil, nil, netip.Addr{}, err
		}
		ip, _ := netip.AddrFromSlice(src.(*net.IPAddr).IP)
		if ip == c.self {
			continue
		}
		m, err := ndp.ParseMessage(c.buf[:n])
		if err != nil {
			continue // malformed or not NDP: not for us
		}
		return m, cm, ip.WithZone(c.ifi.Name), nil
	}
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

func (c *icmpv6Conn) Close() error { return c.ip.Close() }
