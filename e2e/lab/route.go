package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// inNetns runs f on an OS thread that entered network namespace ns, then
// brings the thread back: sockets f opens stay in ns.
func inNetns(ns string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Not unlocked if going back fails: the thread then ends with
		// this goroutine instead of serving others in the wrong namespace.
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("opening this thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("opening network namespace %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("entering network namespace %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- errors.Join(ferr, fmt.Errorf("leaving network namespace %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		ch <- ferr
	}()
	return <-ch
}

// kernelRoute is one route of a kernel routing table.
type kernelRoute struct {
	Dst   netip.Prefix
	Table uint32
	Hops  []string // gateways, in the kernel's order
}

// routeConn is a NETLINK_ROUTE socket bound in one network namespace: a
// table dump through it costs a request and its answers, no process.
type routeConn struct {
	fd  int
	seq uint32
	buf []byte
}

// dialRoute opens a NETLINK_ROUTE socket in network namespace ns.
func dialRoute(ns string) (*routeConn, error) {
	c := &routeConn{fd: -1, buf: make([]byte, 1<<20)}
	err := inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		return nil, err
	}
	tv := unix.Timeval{Sec: 2}
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(c.fd)
		return nil, fmt.Errorf("netlink socket timeout: %w", err)
	}
	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(c.fd)
		return nil, fmt.Errorf("netlink bind in %s: %w", ns, err)
	}
	return c, nil
}

// Close closes the socket.
func (c *routeConn) Close() error { return unix.Close(c.fd) }

// routes dumps the routes of family (unix.AF_INET or AF_INET6) from every
// table.
func (c *routeConn) routes(family uint8) ([]kernelRoute, error) {
	c.seq++
	req := make([]byte, unix.SizeofNlMsghdr+unix.SizeofRtMsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETROUTE)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], c.seq)
	req[unix.SizeofNlMsghdr] = family
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink route dump request: %w", err)
	}
	var all []kernelRoute
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink route dump: %w", err)
		}
		rs, done, err := parseRouteDump(c.buf[:n], c.seq)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
		if done {
			return all, nil
		}
	}
}

// parseRouteDump parses one datagram of an RTM_GETROUTE dump answering
// request seq (others, left from an earlier dump, are skipped): the routes
// it holds, and whether it ends the dump.
func parseRouteDump(b []byte, seq uint32) ([]kernelRoute, bool, error) {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil, false, fmt.Errorf("netlink route dump: %w", err)
	}
	var out []kernelRoute
	for _, m := range msgs {
		if m.Header.Seq != seq {
			continue
		}
		switch m.Header.Type {
		case unix.NLMSG_DONE:
			return out, true, nil
		case unix.NLMSG_ERROR:
			if len(m.Data) >= 4 {
				if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
					return nil, false, fmt.Errorf("netlink route dump: %w", syscall.Errno(errno))
				}
			}
			return out, true, nil
		case unix.RTM_NEWROUTE:
			r, err := parseRoute(m.Data)
			if err != nil {
				return nil, false, err
			}
			out = append(out, r)
		}
	}
	return out, false, nil
}

// parseRoute parses an RTM_NEWROUTE message body: rtmsg, then attributes.
func parseRoute(b []byte) (kernelRoute, error) {
	if len(b) < unix.SizeofRtMsg {
		return kernelRoute{}, fmt.Errorf("netlink route message of %d bytes, shorter than its header", len(b))
	}
	family, dstLen, table := b[0], int(b[1]), uint32(b[4])
	r := kernelRoute{Table: table}
	var dst netip.Addr
	for a := range attrs(b[unix.SizeofRtMsg:]) {
		switch a.typ {
		case unix.RTA_DST:
			dst, _ = netip.AddrFromSlice(a.val)
		case unix.RTA_TABLE:
			if len(a.val) >= 4 {
				r.Table = binary.NativeEndian.Uint32(a.val)
			}
		case unix.RTA_GATEWAY, unix.RTA_VIA:
			if h, ok := gateway(a.typ, a.val); ok {
				r.Hops = append(r.Hops, h)
			}
		case unix.RTA_MULTIPATH:
			r.Hops = append(r.Hops, multipathHops(a.val)...)
		}
	}
	if !dst.IsValid() {
		dst = netip.IPv4Unspecified()
		if family == unix.AF_INET6 {
			dst = netip.IPv6Unspecified()
		}
	}
	r.Dst = netip.PrefixFrom(dst, dstLen)
	return r, nil
}

// gateway formats an RTA_GATEWAY (address) or RTA_VIA (family, address)
// attribute.
func gateway(typ uint16, v []byte) (string, bool) {
	if typ == unix.RTA_VIA {
		if len(v) < 2 {
			return "", false
		}
		v = v[2:]
	}
	a, ok := netip.AddrFromSlice(v)
	if !ok {
		return "", false
	}
	return a.String(), true
}

// multipathHops returns the gateways of an RTA_MULTIPATH attribute: a
// sequence of rtnexthop, each followed by its own attributes.
func multipathHops(b []byte) []string {
	var hops []string
	for len(b) >= unix.SizeofRtNexthop {
		n := int(binary.NativeEndian.Uint16(b))
		if n < unix.SizeofRtNexthop || n > len(b) {
			break
		}
		for a := range attrs(b[unix.SizeofRtNexthop:n]) {
			if a.typ == unix.RTA_GATEWAY || a.typ == unix.RTA_VIA {
				if h, ok := gateway(a.typ, a.val); ok {
					hops = append(hops, h)
				}
			}
		}
		b = b[min(align4(n), len(b)):]
	}
	return hops
}

// attr is one netlink route attribute.
type attr struct {
	typ uint16
	val []byte
}

// attrs iterates over the route attributes in b.
func attrs(b []byte) func(func(attr) bool) {
	return func(yield func(attr) bool) {
		for len(b) >= unix.SizeofRtAttr {
			n := int(binary.NativeEndian.Uint16(b))
			if n < unix.SizeofRtAttr || n > len(b) {
				return
			}
			if !yield(attr{typ: binary.NativeEndian.Uint16(b[2:]) &^ unix.NLA_F_NESTED, val: b[unix.SizeofRtAttr:n]}) {
				return
			}
			b = b[min(align4(n), len(b)):]
		}
	}
}

func align4(n int) int { return (n + 3) &^ 3 }

// routeHops returns the sorted gateways of the main table's route to
// exactly prefix among rs (none when there is none), as `ip route show
// PREFIX` lists them.
func routeHops(rs []kernelRoute, prefix netip.Prefix) []string {
	var hops []string
	for _, r := range rs {
		if r.Table == unix.RT_TABLE_MAIN && r.Dst == prefix {
			hops = append(hops, r.Hops...)
		}
	}
	slices.Sort(hops)
	return hops
}
