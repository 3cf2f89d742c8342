package frragent

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A restarted bgpd, and FRR's own copy of the config.
//
// FRR started by its frrinit.sh (as in herald's FRR image) loads frr.conf
// into a daemon watchfrr restarts (`vtysh -b -d bgpd`), and into every
// daemon when the container restarts with its /etc/frr volume. The file the
// agent writes is therefore what a bgpd that has seen no session yet is
// given: the config with every neighbor's BFD left out (freshText), which
// the agent then adds once each session has opened, as on its own applies
// (see bfddefer.go). A file with the BFD lines would bring back, on every
// bgpd restart, the BFD flap the agent avoids.
//
// When bgpd restarts, the agent first lets FRR load that file
// (awaitOwnLoad) rather than loading its own copy at the same time: two
// loads at once left the neighbors Idle for minutes on FRR 10.3 (bgpd keeps
// a neighbor configured during a load shut until that load ends) and the
// BFD lines of one load in the other's result.

// ownLoadWait bounds how long a restarted bgpd is given to load frr.conf
// before the agent loads the last good config itself.
const ownLoadWait = 5 * time.Second

// InstanceConfig returns the frr.conf FRR itself loads for pathspace:
// /etc/frr/frr.conf, or /etc/frr/<pathspace>/frr.conf for an instance
// started with -N. An agent whose --frr-conf is that file is writing what
// a restarted daemon loads (Options.RestartLoadsConfig).
func InstanceConfig(pathspace string) string {
	if pathspace == "" {
		return "/etc/frr/frr.conf"
	}
	return filepath.Join("/etc/frr", pathspace, "frr.conf")
}

// freshText returns a rendered config as a bgpd that has seen no session
// must be given: every "neighbor X bfd" and "neighbor X bfd profile P" line left
// out (the lines withBFDDeferred(cfg, nil) would not render; the bfd
// stanza's profiles stay). A config with no such line is returned as is.
func freshText(text []byte) []byte {
	if !bytes.Contains(text, []byte(" bfd")) {
		return text
	}
	lines := bytes.SplitAfter(text, []byte("\n"))
	out := make([]byte, 0, len(text))
	for _, l := range lines {
		if isNeighborBFD(l) {
			continue
		}
		out = append(out, l...)
	}
	return out
}

// isNeighborBFD reports whether l is a neighbor's BFD line of a router
// stanza: " neighbor NAME bfd" or " neighbor NAME bfd profile PROFILE".
func isNeighborBFD(l []byte) bool {
	f := bytes.Fields(l)
	if len(l) == 0 || l[0] != ' ' || len(f) < 3 || string(f[0]) != "neighbor" || string(f[2]) != "bfd" {
		return false
	}
	return len(f) == 3 || (len(f) == 5 && string(f[3]) == "profile")
}

// awaitOwnLoad gives a restarted bgpd up to ownLoadWait to load the
// agent's file itself, and reports whether it then runs last's fresh form;
// then last, with every BFD neighbor waiting again, is the last good
// config. It needs applyMu held.
func (a *Agent) awaitOwnLoad(ctx context.Context, last *applied) bool {
	fresh, err := last.withSessionsNew()
	if err != nil {
		return false
	}
	want := withoutStanza(fresh.norm, "bfd")
	ctx, cancel := context.WithTimeout(ctx, ownLoadWait)
	defer cancel()
	start := time.Now()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if a.bgpdRunsRouter(ctx) {
			if ok, _, err := a.verifyDaemon(ctx, "bgpd", want); err == nil && ok {
				// The next apply diffs against what bgpd runs: the fresh
				// form, whose BFD Watch adds after each first session.
				_ = a.commit(fresh, false)
				a.log.Info("bgpd restarted and loaded the last good config from its frr.conf; BFD follows each session",
					"generation", last.gen, "waited", time.Since(start))
				a.record(Result{Generation: last.gen, Method: MethodNone, Hash: fresh.hash, Success: true,
					BFDPending: fresh.bfdPending, Duration: time.Since(start)})
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// bgpdRestarted reports whether bgpd's pid (its pid file in VtyDir)
// changed since the last call. The first pid read, an unreadable pid file
// (bgpd down, or no VtyDir) and an unchanged pid are no restart.
func (a *Agent) bgpdRestarted() bool {
	pid := a.bgpdPIDNow()
	if pid == 0 {
		return false
	}
	before := a.bgpdPID
	a.bgpdPID = pid
	return before != 0 && before != pid
}

// bgpdPIDNow returns bgpd's pid from its pid file in the vty folder; 0
// when there is no vty folder or the file cannot be read.
func (a *Agent) bgpdPIDNow() int {
	if a.vtyDir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(a.vtyDir, "bgpd.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// bgpdRunsRouter reports whether bgpd answers and runs at least one router.
func (a *Agent) bgpdRunsRouter(ctx context.Context) bool {
	out, err := a.show(ctx, "bgpd", "show bgp vrf all summary json")
	if err != nil {
		return false
	}
	var vrfs map[string]json.RawMessage
	return json.Unmarshal([]byte(out), &vrfs) == nil && len(vrfs) > 0
}
