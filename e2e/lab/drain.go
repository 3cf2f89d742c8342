package lab

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Cordon sets the Node's spec.unschedulable, as `kubectl cordon` (on) and
// `kubectl uncordon` (off) do.
func (l *Lab) Cordon(ctx context.Context, node string, on bool) error {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	if _, err := l.client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordon %s=%t: %w", node, on, err)
	}
	return nil
}

// RouteSample is the next hops of a route in a namespace's kernel table at
// one instant.
type RouteSample struct {
	At   time.Time
	Hops []string // sorted; none when there is no route
}

// RouteSampler reads a route from a lab namespace's kernel table at a fixed
// interval, over a netlink socket opened in the namespace (a sample costs
// one table dump, no process).
type RouteSampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	samples []RouteSample
	err     error
}

// SampleRoute starts sampling the kernel route to prefix (an address is
// its host prefix) in the main table of the namespace of lab name (router,
// client, nodeN) every interval, until Stop.
func (l *Lab) SampleRoute(ctx context.Context, name, prefix string, every time.Duration) (*RouteSampler, error) {
	pfx, err := netip.ParsePrefix(prefix)
	if err != nil {
		a, aerr := netip.ParseAddr(prefix)
		if aerr != nil {
			return nil, fmt.Errorf("sampling route %q: not a prefix or an address", prefix)
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	ns, err := l.plan.Netns(name)
	if err != nil {
		return nil, err
	}
	conn, err := dialRoute(ns)
	if err != nil {
		return nil, fmt.Errorf("sampling %s in %s: %w", prefix, name, err)
	}
	family := uint8(unix.AF_INET)
	if pfx.Addr().Is6() {
		family = unix.AF_INET6
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &RouteSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer conn.Close()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			rs, err := conn.routes(family)
			if err != nil {
				s.err = fmt.Errorf("sampling %s in %s: %w", prefix, name, err)
				return
			}
			s.samples = append(s.samples, RouteSample{At: time.Now(), Hops: routeHops(rs, pfx.Masked())})
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s, nil
}

// Stop ends the sampling and returns the samples, in time order.
func (s *RouteSampler) Stop() []RouteSample {
	s.cancel()
	<-s.done
	return s.samples
}

// Err is why sampling stopped before Stop (a failed table dump), nil if it
// did not; call it after Stop.
func (s *RouteSampler) Err() error {
	<-s.done
	return s.err
}
