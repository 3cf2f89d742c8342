// Package vtysh is the frr-agent's edge to FRR's vtysh: a function type
// standing for "run vtysh with these arguments" (so tests pass canned
// output), the real runner, and pure parsers for the JSON FRR 8.4 prints for
// `show bgp vrf all summary json`, `show bfd peers json` and `show bgp ...
// neighbors X advertised-routes json`, and for the errors vtysh prints about
// a config file ("line N: % Unknown command: ...").
package vtysh
