package frragent

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// maxWait bounds a WaitPath request's timeout.
const maxWait = 5 * time.Minute

// waitQuiet is how long no speaker must be connected before a wait ends
// without a goodbye.
const waitQuiet = 2 * time.Second

// WaitResult answers WaitPath.
type WaitResult struct {
	// Over is true when the speaker is done with the agent; false when the
	// wait timed out.
	Over bool `json:"over"`
	// Reason says which.
	Reason string `json:"reason"`
}

// clients follows the connections to the agent's API (the http.Server's
// ConnState hook) and the speaker's goodbye. It is safe for concurrent use.
type clients struct {
	mu sync.Mutex
	// open are the connections not closed yet; lastClosed when one last
	// closed (the agent's start before any).
	open       int
	lastClosed time.Time
	goodbye    bool
	// changed is closed, and replaced, on every change.
	changed chan struct{}
}

func newClients() *clients {
	return &clients{lastClosed: time.Now(), changed: make(chan struct{})}
}

// connState is the http.Server's ConnState hook.
func (c *clients) connState(_ net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case http.StateNew:
		c.open++
	case http.StateClosed, http.StateHijacked:
		c.open--
		c.lastClosed = time.Now()
	default:
		return
	}
	c.notify()
}

func (c *clients) sayGoodbye() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.goodbye = true
	c.notify()
}

// notify wakes the waiters; c.mu is held.
func (c *clients) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// over asks WaitOver, counting the waiter's own connection out.
func (c *clients) over(now time.Time) (bool, string, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok, why := WaitOver(c.goodbye, c.open-1, c.lastClosed, now, waitQuiet)
	return ok, why, c.changed
}

// serveWait answers WaitPath once WaitOver says so, or at the request's
// timeout.
func (a *Agent) serveWait(w http.ResponseWriter, r *http.Request) {
	timeout := 30 * time.Second
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxWait {
			http.Error(w, fmt.Sprintf("timeout=%q: give a duration up to %s (30s, 1m)", v, maxWait), http.StatusBadRequest)
			return
		}
		timeout = d
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// The quiet period ends without a connection change: look again then.
	tick := time.NewTicker(waitQuiet / 4)
	defer tick.Stop()
	for {
		ok, why, changed := a.clients.over(time.Now())
		if ok {
			a.log.Info("the speaker is done with the agent", "reason", why)
			writeJSON(w, WaitResult{Over: true, Reason: why})
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-deadline.C:
			res := WaitResult{Reason: fmt.Sprintf("the speaker is still connected after %s", timeout)}
			a.log.Info("stopped waiting for the speaker", "reason", res.Reason)
			writeJSON(w, res)
			return
		case <-changed:
		case <-tick.C:
		}
	}
}
