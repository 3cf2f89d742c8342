package kubectlplugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ProbeTarget says what a Prober sends.
type ProbeTarget struct {
	// Proto is "tcp" (a connect to Addr:Port, closed at once) or "icmp"
	// (an echo request to Addr).
	Proto string
	Addr  netip.Addr
	Port  uint16
	// Every is the interval between probes; Timeout how long a probe may
	// wait for its answer before it counts as lost.
	Every, Timeout time.Duration
	// Netns, when set, is the path of a network namespace
	// (/var/run/netns/NAME) the probes' sockets are made in; entering it
	// takes CAP_SYS_ADMIN.
	Netns string
}

// String describes the probes for the report.
func (t ProbeTarget) String() string {
	what := fmt.Sprintf("tcp connect to %s", netip.AddrPortFrom(t.Addr, t.Port))
	if t.Proto == "icmp" {
		what = "icmp echo to " + t.Addr.String()
	}
	return fmt.Sprintf("%s every %s (lost after %s)", what, t.Every, t.Timeout)
}

// Prober sends probes at a fixed interval and records them.
type Prober struct {
	t      ProbeTarget
	mu     sync.Mutex
	probes []Probe
	cancel context.CancelFunc
	wg     sync.WaitGroup
	icmp   *icmp.PacketConn
	// pending maps an ICMP sequence number to its probe's index.
	pending map[uint16]int
}

// StartProber starts probing until Stop.
func StartProber(ctx context.Context, t ProbeTarget) (*Prober, error) {
	if t.Every <= 0 || t.Timeout <= 0 {
		return nil, errors.New("probing: the interval and the timeout must be positive")
	}
	p := &Prober{t: t, pending: map[uint16]int{}}
	switch t.Proto {
	case "tcp":
		if t.Port == 0 {
			return nil, errors.New("probing: tcp needs a port")
		}
	case "icmp":
		var c *icmp.PacketConn
		err := inNetns(t.Netns, func() error {
			var err error
			network, listen := "ip4:icmp", "0.0.0.0"
			if t.Addr.Is6() {
				network, listen = "ip6:ipv6-icmp", "::"
			}
			c, err = icmp.ListenPacket(network, listen)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("probing: opening an ICMP socket (needs root or CAP_NET_RAW): %w", err)
		}
		p.icmp = c
	default:
		return nil, fmt.Errorf("probing: protocol %q: want tcp or icmp", t.Proto)
	}
	ctx, p.cancel = context.WithCancel(ctx)
	if p.icmp != nil {
		p.wg.Add(1)
		go p.readICMP()
	}
	p.wg.Add(1)
	go p.loop(ctx)
	return p, nil
}

// loop sends a probe every interval until ctx ends.
func (p *Prober) loop(ctx context.Context) {
	defer p.wg.Done()
	tick := time.NewTicker(p.t.Every)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		p.send(seq)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *Prober) record(pr Probe) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probes = append(p.probes, pr)
	return len(p.probes) - 1
}

func (p *Prober) answered(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probes[i].OK = true
}

func (p *Prober) send(seq uint16) {
	sent := time.Now()
	if p.icmp != nil {
		i := p.record(Probe{Sent: sent})
		p.mu.Lock()
		p.pending[seq] = i
		p.mu.Unlock()
		var typ icmp.Type = ipv4.ICMPTypeEcho
		if p.t.Addr.Is6() {
			typ = ipv6.ICMPTypeEchoRequest
		}
		b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: os.Getpid() & 0xffff, Seq: int(seq)}}).Marshal(nil)
		if err == nil {
			_, _ = p.icmp.WriteTo(b, &net.IPAddr{IP: p.t.Addr.AsSlice()})
		}
		return
	}
	i := p.record(Probe{Sent: sent})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		d := net.Dialer{Timeout: p.t.Timeout}
		var c net.Conn
		err := inNetns(p.t.Netns, func() error {
			var err error
			c, err = d.Dial("tcp", netip.AddrPortFrom(p.t.Addr, p.t.Port).String())
			return err
		})
		if err == nil {
			_ = c.Close()
			p.answered(i)
		}
	}()
}

// readICMP matches echo replies to probes until the socket closes.
func (p *Prober) readICMP() {
	defer p.wg.Done()
	proto := 1
	if p.t.Addr.Is6() {
		proto = 58
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := p.icmp.ReadFrom(buf)
		if err != nil {
			return
		}
		at := time.Now()
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		if !ok || (m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply) || echo.ID != os.Getpid()&0xffff {
			continue
		}
		a, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		if src, ok := netip.AddrFromSlice(a.IP); !ok || src.Unmap() != p.t.Addr {
			continue
		}
		p.mu.Lock()
		i, ok := p.pending[uint16(echo.Seq)]
		if ok && at.Sub(p.probes[i].Sent) <= p.t.Timeout {
			p.probes[i].OK = true
			delete(p.pending, uint16(echo.Seq))
		}
		p.mu.Unlock()
	}
}

// Probes returns a copy of the probes so far. A probe sent less than the
// timeout ago may still be answered.
func (p *Prober) Probes() []Probe {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Probe(nil), p.probes...)
}

// Stop stops sending, waits for the probes in flight and returns them
// all.
func (p *Prober) Stop() []Probe {
	p.cancel()
	if p.icmp != nil {
		time.Sleep(p.t.Timeout)
		_ = p.icmp.Close()
	}
	p.wg.Wait()
	return p.Probes()
}

// inNetns runs f on a thread in the network namespace at path (f runs
// where the caller is when path is empty). Sockets f makes stay in that
// namespace. The thread is not given back to Go's scheduler: it ends with
// the goroutine, so that no other goroutine runs in the namespace.
func inNetns(path string, f func() error) error {
	if path == "" {
		return f()
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- fmt.Errorf("opening network namespace %s: %w", path, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("entering network namespace %s (needs root): %w", path, err)
			return
		}
		ch <- f()
	}()
	return <-ch
}
