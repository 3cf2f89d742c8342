package frragent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldlb/herald/frragent/vtysh"
)

// maxRequest bounds an apply request's body (a model with tens of thousands
// of prefixes is a few megabytes).
const maxRequest = 256 << 20

// applyTimeout bounds one apply; a full reload of a large config is slow.
const applyTimeout = 15 * time.Minute

// Handler serves the agent's API (ApplyPath, StatePath).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ApplyPath, func(w http.ResponseWriter, r *http.Request) {
		var req ApplyRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			http.Error(w, fmt.Sprintf("decoding the apply request: %v", err), http.StatusBadRequest)
			return
		}
		// A caller that goes away must not stop an apply half-way.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), applyTimeout)
		defer cancel()
		writeJSON(w, a.Apply(ctx, req))
	})
	mux.HandleFunc("GET "+StatePath, func(w http.ResponseWriter, r *http.Request) {
		st, err := a.State(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, st)
	})
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, a.Health(r.Context()))
	})
	mux.HandleFunc("POST "+GoodbyePath, func(w http.ResponseWriter, _ *http.Request) {
		a.clients.sayGoodbye()
		a.log.Info("the speaker withdrew and said goodbye")
		writeJSON(w, struct{}{})
	})
	mux.HandleFunc("GET "+WaitPath, a.serveWait)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v) // the client is gone when this fails
}

// SocketOwner is who may use the agent's socket: its mode and owner. UID
// or GID -1 leaves that id the agent's own.
type SocketOwner struct {
	Mode     os.FileMode
	UID, GID int
}

// Listen opens the agent's unix socket at path with mode 0600, owned by the
// agent's user, replacing a socket a previous agent left there.
func Listen(path string) (net.Listener, error) {
	return ListenOwned(path, SocketOwner{Mode: 0o600, UID: -1, GID: -1})
}

// ListenOwned opens the agent's unix socket at path with o's mode and
// owner, replacing a socket a previous agent left there: in a speaker pod
// the agent runs as root beside FRR, and the speaker, under its own user,
// must be allowed to connect.
func ListenOwned(path string, o SocketOwner) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("frr-agent: %s exists and is not a socket: remove it or choose another --socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("frr-agent: removing the stale socket %s: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("frr-agent: listening on %s: %w", path, err)
	}
	if o.UID != -1 || o.GID != -1 {
		if err := os.Chown(path, o.UID, o.GID); err != nil {
			l.Close()
			return nil, fmt.Errorf("frr-agent: giving %s to %d:%d: %w", path, o.UID, o.GID, err)
		}
	}
	if err := os.Chmod(path, o.Mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("frr-agent: chmod %#o %s: %w", o.Mode, path, err)
	}
	return l, nil
}

// Serve serves the API on l, watches FRR (Watch) and the speaker's
// presence (withdrawing when it is gone: Options.WithdrawAfter) until ctx
// is cancelled.
func (a *Agent) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ConnState: a.clients.connState}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		a.Watch(ctx)
	}()
	go func() {
		defer wg.Done()
		a.watchSpeaker(ctx)
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	err := srv.Serve(l)
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("frr-agent: serving: %w", err)
}

// Watch checks, every CheckInterval until ctx is cancelled, and at once
// when bgpd answers again after it died (with Options.VtyDir set: see
// watchBGPD), that bgpd still runs the last good config's routers; when
// bgpd came back empty (watchfrr restarted it without the config), it
// re-applies the last good config with a full reload. The check is one
// `show bgp vrf all summary json`.
func (a *Agent) Watch(ctx context.Context) {
	t := time.NewTimer(a.checkInterval)
	defer t.Stop()
	bgpdBack := make(chan struct{}, 1)
	if a.vtyDir != "" {
		go watchBGPD(ctx, a.vtyDir, bgpdBack)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-bgpdBack:
			a.log.Info("bgpd answers again after it went away: checking its config")
			t.Stop()
		}
		a.checkBGP(ctx)
		next := a.checkInterval
		if a.enableWaitingBFD(ctx) {
			next = min(next, pendingBFDInterval)
		}
		t.Reset(next)
	}
}

// reapplyBGP loads the whole of last into bgpd alone (`vtysh -d bgpd -f`),
// as watchfrr does with frr.conf: frr-reload.py would compare with a running
// config in which zebra still shows the route-maps and prefix-lists bgpd
// lost, and leave them out. It then checks bgpd's own running config.
func (a *Agent) reapplyBGP(ctx context.Context, last *applied) error {
	file, err := a.writeTemp(".frr-reapply-*.conf", last.text)
	if err != nil {
		return err
	}
	defer os.Remove(file)
	if out, err := a.vtysh(ctx, "-d", "bgpd", "-f", file); err != nil {
		return fmt.Errorf("loading the config into bgpd: %w (rejected %v)", err, vtysh.ParseRejected(out, vtysh.Output(err)))
	}
	ok, why, err := a.verifyDaemon(ctx, "bgpd", withoutStanza(last.norm, "bfd"))
	if err != nil {
		return err
	}
	if !ok {
		return errors.New(why)
	}
	return nil
}

// withoutStanza drops the top-level stanza opened by the line first (up to
// and including its top-level "exit") from normalized lines.
func withoutStanza(lines []string, first string) []string {
	out := make([]string, 0, len(lines))
	skip := false
	for _, l := range lines {
		switch {
		case l == first:
			skip = true
		case skip && l == "exit":
			skip = false
		case !skip:
			out = append(out, l)
		}
	}
	return out
}

// checkBGP re-applies the last good config when bgpd runs no router, or
// when bgpd restarted (its pid changed) and did not load the config from
// frr.conf itself (see restart.go).
func (a *Agent) checkBGP(ctx context.Context) {
	last := a.lastGood()
	if last == nil || !last.hasBGP {
		return
	}
	if !a.applyMu.TryLock() {
		return // an apply runs; it checks the running config itself
	}
	defer a.applyMu.Unlock()
	if a.lastGood() != last {
		return
	}
	restarted := a.bgpdRestarted()
	if !restarted {
		out, err := a.show(ctx, "bgpd", "show bgp vrf all summary json")
		if err != nil {
			return // bgpd is down; watchfrr restarts it
		}
		var vrfs map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &vrfs); err != nil || len(vrfs) > 0 {
			return
		}
	}
	if a.restartLoadsConfig && a.awaitOwnLoad(ctx, last) {
		return
	}
	a.log.Info("bgpd runs no router: re-applying the last good config", "generation", last.gen)
	start := time.Now()
	// The new bgpd has seen no session yet: every neighbor's BFD waits
	// for its first one again.
	again, err := last.withSessionsNew()
	res := Result{Generation: last.gen, Method: MethodReload, Hash: again.hash, BFDPending: again.bfdPending}
	switch {
	case err != nil:
		res.Error = "re-applying after a bgpd restart: " + err.Error()
	default:
		if err := a.reapplyBGP(ctx, again); err != nil {
			res.Error = "re-applying after a bgpd restart: " + err.Error()
		} else if err := a.commit(again, true); err != nil {
			res.Error = err.Error()
		} else {
			res.Success = true
		}
	}
	res.Duration = time.Since(start)
	a.record(res)
}

// DefaultSocket is where the agent serves and the speaker dials by default
// (`herald frr-agent --socket`, `herald speaker --agent-socket`).
const DefaultSocket = "/run/herald/frr-agent.sock"

// ParseSocketOwner reads `--socket-owner`: "UID:GID", "UID" (the group
// left alone) or "" (both left alone, -1).
func ParseSocketOwner(s string) (uid, gid int, err error) {
	if s == "" {
		return -1, -1, nil
	}
	u, g, hasGroup := strings.Cut(s, ":")
	bad := fmt.Errorf("--socket-owner=%q: give numeric ids, UID:GID or UID (for example 65532:65532, the speaker's user)", s)
	if uid, err = strconv.Atoi(u); err != nil || uid < 0 {
		return -1, -1, bad
	}
	gid = -1
	if hasGroup {
		if gid, err = strconv.Atoi(g); err != nil || gid < 0 {
			return -1, -1, bad
		}
	}
	return uid, gid, nil
}
