package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// InNetns runs f on an OS thread inside the network namespace of lab name
// (router, client, nodeN); sockets f opens stay in that namespace.
func (l *Lab) InNetns(name string, f func() error) error {
	ns, err := l.plan.Netns(name)
	if err != nil {
		return err
	}
	return inNetns(ns, f)
}

// Pinger sends ICMP echo requests to one IPv4 address from a lab
// namespace at a fixed interval, from this process (no ping process, so
// the interval holds on a loaded machine), and records which were
// answered.
type Pinger struct {
	conn   *icmp.PacketConn
	id     int
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	sent     []time.Time
	answered map[int]bool // by sequence number
}

// StartPing starts pinging dst (IPv4) from the namespace of lab name every
// interval, until Stop.
func (l *Lab) StartPing(ctx context.Context, name string, dst netip.Addr, every time.Duration) (*Pinger, error) {
	if !dst.Is4() {
		return nil, fmt.Errorf("ping %s from %s: only IPv4 is supported: give an IPv4 address", dst, name)
	}
	var conn *icmp.PacketConn
	err := l.InNetns(name, func() error {
		var err error
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ping %s from %s: %w", dst, name, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Pinger{conn: conn, id: os.Getpid() & 0xffff, cancel: cancel, done: make(chan struct{}), answered: map[int]bool{}}
	to := &net.IPAddr{IP: dst.AsSlice()}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for seq := 0; ; seq++ {
			msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: p.id, Seq: seq & 0xffff, Data: []byte("herald-lab")}}
			if b, err := msg.Marshal(nil); err == nil {
				// A request the kernel refuses (no route) is sent and lost
				// as far as the client is concerned.
				_, _ = conn.WriteTo(b, to)
				p.mu.Lock()
				p.sent = append(p.sent, time.Now())
				p.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			if a, ok := from.(*net.IPAddr); !ok || !a.IP.Equal(to.IP) {
				continue
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == p.id {
				p.mu.Lock()
				p.answered[e.Seq] = true
				p.mu.Unlock()
			}
		}
	}()
	go func() {
		<-ctx.Done()
		_ = conn.SetReadDeadline(time.Now())
		wg.Wait()
		_ = conn.Close()
		close(p.done)
	}()
	return p, nil
}

// Stop ends the pinging and returns when each request was sent and whether
// it was answered (a reply on its way at Stop counts as not). Sequence
// numbers wrap at 65536 requests: keep a Pinger shorter than that.
func (p *Pinger) Stop() (sent []time.Time, answered []bool) {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	answered = make([]bool, len(p.sent))
	for i := range p.sent {
		answered[i] = p.answered[i&0xffff]
	}
	return p.sent, answered
}
