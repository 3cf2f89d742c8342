package l2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/arp"

	"github.com/heraldlb/herald/e2e/lab"
)

// Reply is an ARP reply a Prober saw.
type Reply struct {
	At  time.Time
	MAC string
	// Gratuitous is a reply that announces the IP (target IP = sender
	// IP), not one answering the client's request.
	Gratuitous bool
}

// Prober sends an ARP request for one IP from the lab's client at a fixed
// interval and reports every reply for that IP.
type Prober struct {
	c       *arp.Client
	cancel  context.CancelFunc
	done    chan struct{}
	replies chan Reply

	mu   sync.Mutex
	sent []time.Time
}

// StartProber starts probing ip from the client's LAN interface every
// interval, until ctx ends or Stop.
func StartProber(ctx context.Context, l *lab.Lab, ip netip.Addr, every time.Duration) (*Prober, error) {
	var c *arp.Client
	err := inNetns(l, lab.ClientName, func() error {
		ifi, err := net.InterfaceByName(LANLink)
		if err != nil {
			return err
		}
		c, err = arp.Dial(ifi)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ARP prober in the client: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Prober{c: c, cancel: cancel, done: make(chan struct{}), replies: make(chan Reply, 1<<16)}
	go func() {
		<-ctx.Done()
		_ = c.SetReadDeadline(time.Now())
	}()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if c.Request(ip) == nil {
				p.mu.Lock()
				p.sent = append(p.sent, time.Now())
				p.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer close(p.done)
		defer close(p.replies)
		for {
			pkt, _, err := c.Read()
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
					return
				}
				continue
			}
			if pkt.Operation != arp.OperationReply || pkt.SenderIP != ip {
				continue
			}
			select {
			case p.replies <- Reply{At: time.Now(), MAC: pkt.SenderHardwareAddr.String(), Gratuitous: pkt.TargetIP == pkt.SenderIP}:
			default: // nobody reads: drop
			}
		}
	}()
	return p, nil
}

// Replies delivers the replies in order; it is closed after Stop.
func (p *Prober) Replies() <-chan Reply { return p.replies }

// Sent returns the times the requests were sent so far, in order.
func (p *Prober) Sent() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

// Stop ends the prober.
func (p *Prober) Stop() {
	p.cancel()
	<-p.done
	_ = p.c.Close()
}

// WaitFor returns the first reply from mac at or after since, waiting up to
// timeout; replies before it are consumed.
func (p *Prober) WaitFor(mac string, since time.Time, timeout time.Duration) (Reply, error) {
	deadline := time.After(timeout)
	for {
		select {
		case r, ok := <-p.replies:
			if !ok {
				return Reply{}, errors.New("prober stopped")
			}
			if r.MAC == mac && !r.At.Before(since) {
				return r, nil
			}
		case <-deadline:
			return Reply{}, fmt.Errorf("no ARP reply from %s within %s", mac, timeout)
		}
	}
}

// Drain discards the replies received so far.
func (p *Prober) Drain() {
	for {
		select {
		case <-p.replies:
		default:
			return
		}
	}
}

// Unanswered returns the requests of sent (in order) that no reply answered.
// Each node answers each request once, in order, so every MAC's replies
// (gratuitous ones left out) are matched, each to the latest request sent
// before it that this MAC had not answered yet: a reply read late, after
// the next request went, still counts for the one it answers, and two
// nodes answering one request (a hand-off) count once. It is pure.
func Unanswered(sent []time.Time, replies []Reply) []time.Time {
	answered := make([]bool, len(sent))
	byMAC := map[string][]bool{}
	for _, r := range replies {
		if r.Gratuitous {
			continue
		}
		mine, ok := byMAC[r.MAC]
		if !ok {
			mine = make([]bool, len(sent))
			byMAC[r.MAC] = mine
		}
		// The requests sent at or before the reply: [0, i).
		i, _ := slices.BinarySearchFunc(sent, r.At, func(s, at time.Time) int {
			if s.After(at) {
				return 1
			}
			return -1
		})
		for j := i - 1; j >= 0; j-- {
			if !mine[j] {
				mine[j], answered[j] = true, true
				break
			}
		}
	}
	var out []time.Time
	for i, a := range answered {
		if !a {
			out = append(out, sent[i])
		}
	}
	return out
}
