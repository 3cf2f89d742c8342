package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// samples are the latency rows' measurements, one per Service.
type samples struct {
	// announce: the Service created (its Create call returned: the API
	// server stored it, and herald can see it) → its routes (both of a
	// dual-stack one) present at each router, in the order of
	// bench.routers; assigned: created → its addresses in its status (the
	// controller's share); create: the Create call itself (the API
	// server's own work: cluster IP, node port, storage).
	announce [][]time.Duration
	assigned []time.Duration
	create   []time.Duration
	// withdraw: the Service deleted (its Delete call returned) → its
	// routes absent at each router; delete: the Delete call itself.
	withdraw [][]time.Duration
	delete   []time.Duration
	// noMessage counts, per router, the withdrawals its watch never heard
	// of while its own table, read after 30 s, had no route (see
	// errNoMessage): no latency sample, and not a lost withdrawal.
	noMessage []int
	// mix says how many Services of each kind were measured.
	mix string
}

// serviceKinds are the Services the latency rows take turns with: the
// first IPv4 one, then the first IPv6 one are the first of their family.
var serviceKinds = []struct {
	name     string
	families []corev1.IPFamily
}{
	{"IPv4", []corev1.IPFamily{corev1.IPv4Protocol}},
	{"IPv6", []corev1.IPFamily{corev1.IPv6Protocol}},
	{"dual-stack", []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}},
}

// withdrawSettle is how long a withdrawn route must stay absent at every
// router before the withdrawal counts as done (and the next Service is
// deleted). It is no part of the times measured.
const withdrawSettle = 200 * time.Millisecond

// latency creates n Services one by one, IPv4, IPv6 and dual-stack in
// turn, each announced at every router before the next is created; then
// deletes them one by one, each withdrawn everywhere before the next.
func (b *bench) latency(ctx context.Context, n int) (samples, error) {
	m := samples{announce: make([][]time.Duration, len(b.routers)), withdraw: make([][]time.Duration, len(b.routers)), noMessage: make([]int, len(b.routers))}
	var created []*corev1.Service
	var ips [][]string
	count := make([]int, len(serviceKinds))
	for i := range n {
		kind := serviceKinds[i%len(serviceKinds)]
		count[i%len(serviceKinds)]++
		svc := service(fmt.Sprintf("bench-%03d", i), "bench", kind.families...)
		start := time.Now()
		if err := b.c.Create(ctx, svc); err != nil {
			return m, fmt.Errorf("creating Service %s: %w", svc.Name, err)
		}
		done := time.Now()
		created = append(created, svc)
		addrs, err := b.waitIPs(ctx, svc, len(kind.families))
		if err != nil {
			return m, err
		}
		assigned := time.Since(done)
		ips = append(ips, addrs)
		var trace []string
		for r, w := range b.routers {
			var last time.Time
			for _, ip := range addrs {
				at, err := w.waitAdded(ctx, ip, start, 30*time.Second)
				if err != nil {
					return m, fmt.Errorf("Service %s (%s): %w", svc.Name, kind.name, err)
				}
				last = latest(last, at)
			}
			m.announce[r] = append(m.announce[r], last.Sub(done))
			trace = append(trace, fmt.Sprintf("%s %v", w.name, last.Sub(done).Round(time.Millisecond)))
		}
		m.create = append(m.create, done.Sub(start))
		m.assigned = append(m.assigned, assigned)
		if b.trace {
			progress("%s (%s %v): create call %v, then addresses %v; routes at %s", svc.Name, kind.name, addrs,
				done.Sub(start).Round(time.Millisecond), assigned.Round(time.Millisecond), strings.Join(trace, ", "))
		}
	}
	var mix []string
	for k, c := range count {
		mix = append(mix, fmt.Sprintf("%d %s", c, serviceKinds[k].name))
	}
	m.mix = strings.Join(mix, ", ")
	// Let the last announcements reach every node's path before deleting.
	time.Sleep(2 * time.Second)
	for i, svc := range created {
		start := time.Now()
		if err := b.c.Delete(ctx, svc); err != nil {
			return m, fmt.Errorf("deleting Service %s: %w", svc.Name, err)
		}
		done := time.Now()
		gone, err := b.waitWithdrawn(ctx, ips[i], start)
		if err != nil {
			return m, fmt.Errorf("Service %s: %w", svc.Name, err)
		}
		var trace []string
		for r, at := range gone {
			if at.IsZero() {
				m.noMessage[r]++
				trace = append(trace, fmt.Sprintf("%s gone without a message", b.routers[r].name))
				continue
			}
			m.withdraw[r] = append(m.withdraw[r], at.Sub(done))
			trace = append(trace, fmt.Sprintf("%s %v", b.routers[r].name, at.Sub(done).Round(time.Millisecond)))
		}
		m.delete = append(m.delete, done.Sub(start))
		if b.trace {
			progress("%s deleted: delete call %v; routes gone at %s", svc.Name, done.Sub(start).Round(time.Millisecond), strings.Join(trace, ", "))
		}
	}
	return m, nil
}

// waitWithdrawn returns, for each router, when the last of ips' routes
// went away at or after since, once every one of them has stayed away
// withdrawSettle longer.
func (b *bench) waitWithdrawn(ctx context.Context, ips []string, since time.Time) ([]time.Time, error) {
	// lost marks a router whose route went without a message (checked in
	// its table): it gives no sample and is not read again.
	lost := make([]bool, len(b.routers))
	read := func() ([]time.Time, error) {
		gone := make([]time.Time, len(b.routers))
		for r, w := range b.routers {
			for _, ip := range ips {
				if lost[r] {
					break
				}
				at, err := w.waitDeleted(ctx, ip, since, 30*time.Second)
				if errors.Is(err, errNoMessage) {
					progress("%v", err)
					lost[r] = true
					break
				}
				if err != nil {
					return nil, err
				}
				gone[r] = latest(gone[r], at)
			}
			if lost[r] {
				gone[r] = time.Time{}
			}
		}
		return gone, nil
	}
	gone, err := read()
	for err == nil {
		time.Sleep(withdrawSettle)
		var again []time.Time
		if again, err = read(); err == nil && slices.Equal(again, gone) {
			return gone, nil
		}
		gone = again
	}
	return nil, err
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// waitIPs waits for svc's n ingress addresses, as the Service watch saw
// them arrive (a watch, not a poll: a GET every few milliseconds would
// load the API server the lab's controller and speakers share).
func (b *bench) waitIPs(ctx context.Context, svc *corev1.Service, n int) ([]string, error) {
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		ips, ch := b.svcs.addresses(svc.Name)
		if len(ips) >= n {
			return ips, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil, fmt.Errorf("service %s got %d of its %d addresses in 30s", svc.Name, len(ips), n)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
