package l2

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"slices"
	"time"
)

// This file is the Announcer's conflict detection I/O: the responders
// report claims, probeLoop feeds them and the clock to the ProbeTracker,
// sends the probes it asks for, and re-reconciles when what is answered
// changed. See ProbeTracker for the policy.

// claimFunc is the function the responders of iface report claims to. It
// never blocks: a claim finding the queue full is dropped (the next one,
// or the next probe's answer, will do).
func (a *Announcer) claimFunc(iface string) func(Claim) {
	return func(c Claim) {
		select {
		case a.claims <- ifaceClaim{iface: iface, claim: c}:
		default:
		}
	}
}

// signal wakes probeLoop to look at the tracker again.
func (a *Announcer) signal() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// probeLoop runs the tracker until ctx is cancelled.
func (a *Announcer) probeLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		a.mu.Lock()
		next := a.tracker.Next()
		a.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case c := <-a.claims:
			a.claim(c)
		case <-timer.C:
			a.due()
		}
	}
}

// claim hands a claim to the tracker, unless it comes from herald: this
// node's interfaces or another speaker's (Friendly).
func (a *Announcer) claim(c ifaceClaim) {
	friendly := func(mac net.HardwareAddr) bool {
		return slices.ContainsFunc(a.cfg.Friendly(), func(m net.HardwareAddr) bool { return bytes.Equal(m, mac) })
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil || a.ctx.Err() != nil {
		return
	}
	if slices.ContainsFunc(a.links, func(l Link) bool { return bytes.Equal(l.HardwareAddr, c.claim.MAC) }) {
		return
	}
	before := a.tracker.Phase(c.claim.IP)
	if before == 0 || (a.cfg.Friendly != nil && friendly(c.claim.MAC)) {
		return
	}
	if !a.tracker.Claim(c.claim.IP, c.iface, c.claim, time.Now()) {
		return
	}
	after := a.tracker.Phase(c.claim.IP)
	if before != after {
		detected := "probe"
		if after == PhaseContested {
			detected = "announcing"
		}
		a.cfg.Metrics.conflictDetected(detected)
	}
	a.cfg.Log.Info("another host holds a Service IP: not answering for it until it is free", "ip", c.claim.IP,
		"interface", c.iface, "mac", c.claim.MAC.String(), "stillAnswering", after == PhaseContested)
	a.cfg.Metrics.conflicts(a.tracker.Conflicts())
	a.reconcile()
}

// due advances the tracker to now, sends its probes and re-reconciles when
// an IP became free.
func (a *Announcer) due() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil || a.ctx.Err() != nil {
		return
	}
	probe, changed := a.tracker.Due(time.Now())
	for _, ip := range probe {
		for _, name := range a.ipIfaces[ip] {
			st := a.ifaces[name]
			if st == nil {
				continue
			}
			var err error
			if ip.Is4() {
				err = st.arp.Probe(ip)
			} else if ndp := st.getNDP(); ndp != nil {
				err = ndp.Probe(ip)
			}
			if err != nil {
				a.cfg.Log.Error(err, "probing for another host holding a Service IP", "ip", ip, "interface", name)
			}
		}
	}
	if changed {
		a.cfg.Metrics.conflicts(a.tracker.Conflicts())
		a.reconcile()
	}
}

// noteConflicts calls OnConflicts when the conflicts changed since the
// last call; a.mu is held. Every change of the tracker goes through
// reconcile, which calls it.
func (a *Announcer) noteConflicts() {
	cs := a.tracker.Conflicts()
	if slices.EqualFunc(cs, a.notified, sameConflict) {
		return
	}
	a.notified = cs
	if a.cfg.OnConflicts != nil {
		a.cfg.OnConflicts(slices.Clone(cs))
	}
}

// sameConflict compares what is reported of a conflict.
func sameConflict(x, y Conflict) bool {
	return x.IP == y.IP && x.Interface == y.Interface && bytes.Equal(x.MAC, y.MAC) && x.Answering == y.Answering
}

// Conflicts returns the Service IPs this node owns that another host
// holds, sorted by IP.
func (a *Announcer) Conflicts() []Conflict {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tracker.Conflicts()
}

// ConflictIPs returns the IPs of Conflicts, for logs.
func ConflictIPs(cs []Conflict) []netip.Addr {
	out := make([]netip.Addr, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.IP)
	}
	return out
}
