package frragent

import (
	"context"
	"time"

	"github.com/heraldlb/herald/frrconfig"
)

// DefaultWithdrawAfter is how long the speaker may be gone before the
// agent withdraws its node's prefixes (Options.WithdrawAfter, the agent's
// --withdraw-after): longer than a crashed speaker container takes to be
// restarted and connect again (the kubelet restarts it at once after a
// first crash; the speaker connects within a few seconds of its start,
// and while it runs it holds a connection open and asks for FRR's state
// every 5 s, its readiness every 2 s), short enough that a Service deleted
// while the speaker is down, or crash-looping (the kubelet waits 10 s,
// then 20 s, ... between restarts), stops drawing traffic to this node
// within seconds rather than until the speaker returns.
const DefaultWithdrawAfter = 10 * time.Second

// SpeakerGone decides whether the speaker is gone: no client connected to
// the agent's API since lastClosed (when the last connection closed, or
// the agent started) and after has passed since. When it is not gone yet
// but no client is connected, wait says when to look again (0 while a
// client is connected: look again on the next connection change).
func SpeakerGone(open int, lastClosed, now time.Time, after time.Duration) (gone bool, wait time.Duration) {
	if open > 0 {
		return false, 0
	}
	if left := lastClosed.Add(after).Sub(now); left > 0 {
		return false, left
	}
	return true, 0
}

// snapshot returns the connection count, when the last one closed,
// whether the speaker said goodbye, and the channel closed on the next
// change.
func (c *clients) snapshot() (open int, lastClosed time.Time, goodbye bool, changed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open, c.lastClosed, c.goodbye, c.changed
}

// watchSpeaker withdraws the node's prefixes (withdrawForGoneSpeaker) once
// the speaker has been gone for Options.WithdrawAfter, until ctx is
// cancelled: a speaker killed (SIGKILL, OOM) cannot withdraw them itself,
// and FRR would keep announcing what it last applied — a Service deleted
// meanwhile would stay routed through this node until the speaker
// returned. It withdraws once per absence; the speaker, back, applies its
// config and so announces again. A speaker that said goodbye withdrew
// already.
func (a *Agent) watchSpeaker(ctx context.Context) {
	if a.withdrawAfter <= 0 {
		return
	}
	withdrawn := false
	// Go 1.23 timers: Stop and Reset leave no stale tick to drain.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		open, lastClosed, goodbye, changed := a.clients.snapshot()
		if open > 0 {
			withdrawn = false
		}
		gone, wait := SpeakerGone(open, lastClosed, time.Now(), a.withdrawAfter)
		var fire <-chan time.Time
		switch {
		case gone && !withdrawn && !goodbye:
			a.withdrawForGoneSpeaker(ctx, time.Since(lastClosed))
			withdrawn = true
		case wait > 0:
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
			timer.Stop()
		case <-fire:
		}
	}
}

// withdrawForGoneSpeaker applies the last good config with no prefixes
// (frrconfig.Withdrawn): sessions and BFD stay up, the peers see
// withdrawals. A config applied as rendered text has no model to take the
// prefixes out of; it is left running.
func (a *Agent) withdrawForGoneSpeaker(ctx context.Context, gone time.Duration) {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	last := a.lastGood()
	if last == nil {
		return
	}
	if last.requested == nil {
		a.log.Info("the speaker is gone, but the config FRR runs came as rendered text: cannot withdraw its prefixes", "gone", gone.Round(time.Millisecond))
		return
	}
	cfg := frrconfig.Withdrawn(last.requested)
	a.log.Info("the speaker is gone: withdrawing this node's prefixes until it is back", "gone", gone.Round(time.Millisecond), "generation", last.gen)
	res := a.applyLocked(ctx, ApplyRequest{Generation: last.gen, Config: &cfg})
	if !res.Success {
		a.log.Info("withdrawing for the gone speaker failed", "error", res.Error)
	}
}
