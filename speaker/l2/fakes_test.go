package l2

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// memConn is an in-memory net.PacketConn: the test writes frames to in and
// reads what the responder wrote from out.
type memConn struct {
	in     chan []byte
	out    chan sentFrame
	closed chan struct{}
	once   sync.Once
}

type sentFrame struct {
	b   []byte
	dst net.Addr
}

func newMemConn() *memConn {
	return &memConn{in: make(chan []byte, 16), out: make(chan sentFrame, 1024), closed: make(chan struct{})}
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case f := <-c.in:
		return copy(b, f), nil, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *memConn) WriteTo(b []byte, dst net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.out <- sentFrame{b: append([]byte(nil), b...), dst: dst}
	return len(b), nil
}

func (c *memConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *memConn) LocalAddr() net.Addr              { return nil }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// fakeNDP is an in-memory NDPConn.
type fakeNDP struct {
	in     chan ndpIn
	out    chan ndpOut
	closed chan struct{}
	once   sync.Once

	mu     sync.Mutex
	joined map[netip.Addr]bool
}

type ndpIn struct {
	m   ndp.Message
	src netip.Addr
}

type ndpOut struct {
	m   ndp.Message
	cm  *ipv6.ControlMessage
	dst netip.Addr
}

func newFakeNDP() *fakeNDP {
	return &fakeNDP{in: make(chan ndpIn, 16), out: make(chan ndpOut, 1024), closed: make(chan struct{}), joined: map[netip.Addr]bool{}}
}

func (c *fakeNDP) ReadFrom() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error) {
	select {
	case m := <-c.in:
		return m.m, nil, m.src, nil
	case <-c.closed:
		return nil, nil, netip.Addr{}, net.ErrClosed
	}
}

func (c *fakeNDP) WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error {
	c.out <- ndpOut{m: m, cm: cm, dst: dst}
	return nil
}

func (c *fakeNDP) JoinGroup(g netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joined[g] = true
	return nil
}

func (c *fakeNDP) LeaveGroup(g netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.joined, g)
	return nil
}

func (c *fakeNDP) Close() error { c.once.Do(func() { close(c.closed) }); return nil }
