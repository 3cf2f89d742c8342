package l2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/arp"

	"github.com/heraldlb/herald/e2e/lab"
)

// Reply is an ARP reply a Prober saw.
type Reply struct {
	At  time.Time
	MAC string
}

// Prober sends an ARP request for one IP from the lab's client at a fixed
// interval and reports every reply for that IP.
type Prober struct {
	c       *arp.Client
	cancel  context.CancelFunc
	done    chan struct{}
	replies chan Reply
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
			_ = c.Request(ip)
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
			case p.replies <- Reply{At: time.Now(), MAC: pkt.SenderHardwareAddr.String()}:
			default: // nobody reads: drop
			}
		}
	}()
	return p, nil
}

// Replies delivers the replies in order; it is closed after Stop.
func (p *Prober) Replies() <-chan Reply { return p.replies }

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
