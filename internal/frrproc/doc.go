// Package frrproc starts and stops a whole FRR instance — zebra, bgpd, bfdd
// and staticd supervised by watchfrr — inside a network namespace, under its
// own FRR pathspace (`-N name`), so that several instances (the lab's router
// and nodes, a test's two peers) run side by side on one machine.
//
// An instance keeps its files in FRR's pathspace folders,
// /etc/frr/<name>/ (daemons, vtysh.conf, frr.conf) and /var/run/frr/<name>/
// (vty sockets, pid files, logs). Start writes them, starts watchfrr in the
// namespace, which starts the daemons and loads frr.conf with `vtysh -b`, and
// returns once every daemon answers on its vty socket. Stop ends every process
// of the pathspace and removes both folders. Cleanup does the same for an
// instance left behind by a process that died.
//
// watchfrr restarts a daemon that dies (within about a second) and loads
// /etc/frr/<name>/frr.conf into it, as FRR's own packaging does.
package frrproc
