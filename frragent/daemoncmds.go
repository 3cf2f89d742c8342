package frragent

import (
	"context"
	"os"
	"strings"

	"github.com/heraldlb/herald/frragent/vty"
)

// Configuration and show commands on the daemons' own vty sockets: what an
// incremental apply sends to bgpd, the route-map lines the other daemon
// that keeps route-maps must get too, and show commands for applies and
// for State.

// routeMapCommands picks out of Diff's commands those vtysh sends to zebra
// as well as bgpd: route-map entries with their tag lines (the community
// and local-pref lines are bgpd's alone). So zebra's copy of the route-maps
// stays what vtysh would have made it, and the merged running config that
// operators and frr-reload.py read shows no stale entry.
func routeMapCommands(cmds []string) []string {
	var out []string
	in := false
	for _, c := range cmds {
		switch {
		case strings.HasPrefix(c, "route-map "):
			in = true
			out = append(out, c)
		case strings.HasPrefix(c, "no route-map "):
			out = append(out, c)
		case in && c == "exit":
			in = false
			out = append(out, c)
		case in && (strings.HasPrefix(c, "match tag ") || strings.HasPrefix(c, "set tag ")):
			out = append(out, c)
		}
	}
	return out
}

// routeMapDaemon is the daemon besides bgpd that vtysh gives route-map
// configuration to: zebra up to FRR 9, mgmtd from FRR 10 (vtysh's
// VTYSH_RMAP_CONFIG; zebra 10.3 answers "Unknown command", and every apply
// that touched a route-map fell back to a full reload). FRR 10 is told by
// its mgmtd's vty socket in VtyDir.
func (a *Agent) routeMapDaemon() string {
	if _, err := os.Stat(vty.SocketPath(a.vtyDir, "mgmtd")); err == nil {
		return "mgmtd"
	}
	return "zebra"
}

// show runs a show command on one daemon: over the daemon's vty socket
// when Options.VtyDir is set, else with vtysh. Applies use it (it shares
// their connections); State uses stateShow.
func (a *Agent) show(ctx context.Context, daemon, command string) (string, error) {
	if a.vtyDir == "" {
		return a.vtysh(ctx, "-d", daemon, "-c", command)
	}
	return a.conns.show(ctx, daemon, command)
}

// stateShow is show on State's own connections: a state read costs no
// vtysh process (tens of milliseconds of CPU each) and never waits for an
// apply.
func (a *Agent) stateShow(ctx context.Context, daemon, command string) (string, error) {
	if a.vtyDir == "" {
		return a.vtysh(ctx, "-d", daemon, "-c", command)
	}
	return a.stateConns.show(ctx, daemon, command)
}
