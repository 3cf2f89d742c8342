package frrconfig

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Normalize returns the lines of an FRR configuration — Render's output or
// the output of vtysh's `show running-config` — in a form in which two
// configurations are compared line by line: comment lines (`!`), blank
// lines, trailing spaces and the lines FRR adds on its own (the `Building
// configuration...` banner, `frr version`, `hostname`, `end`, zebra's
// `[no] ip(v6) forwarding`, `service integrated-vtysh-config`, an empty
// `bfd` stanza) are dropped,
// and top-level objects are ordered by kind and name: FRR prints route-maps,
// prefix-lists and BFD profiles in the order they were created, so a config
// reached by Diff prints them in another order than the same config loaded
// from a file. A route-map's entries are ordered by seq, the order FRR
// evaluates them in (the merged view of several daemons need not print
// them so). Order inside an object (a router's lines, an entry's match and
// set lines) is kept: there FRR's order is canonical.
func Normalize(text []byte) []string {
	type stanza struct {
		rank  int
		key   string
		lines []string
	}
	var stanzas []stanza
	n := 0
	for raw := range strings.Lines(string(text)) { // one copy; lines share it
		line := strings.TrimRight(raw, " \t\r\n")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '!' || frrOwnLine(line) {
			continue
		}
		n++
		if (line[0] == ' ' || line == "exit") && len(stanzas) > 0 {
			last := &stanzas[len(stanzas)-1]
			last.lines = append(last.lines, line)
			continue
		}
		rank, key := stanzaKey(line)
		stanzas = append(stanzas, stanza{rank: rank, key: key, lines: []string{line}})
	}
	slices.SortStableFunc(stanzas, func(a, b stanza) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.key, b.key))
	})
	out := make([]string, 0, n)
	for _, s := range stanzas {
		if len(s.lines) == 2 && s.lines[0] == "bfd" && s.lines[1] == "exit" {
			continue // bfdd prints the bfd node on its own once its last profile is gone
		}
		if s.lines[0] == "bfd" {
			s.lines = sortBFDProfiles(s.lines)
		}
		out = append(out, s.lines...)
	}
	return out
}

// frrOwnLine reports whether a line is one FRR prints on its own.
func frrOwnLine(line string) bool {
	switch line {
	case "Building configuration...", "Current configuration:", "end",
		"no ip forwarding", "no ipv6 forwarding", "ip forwarding", "ipv6 forwarding",
		"service integrated-vtysh-config":
		return true
	}
	return strings.HasPrefix(line, "frr version ") || strings.HasPrefix(line, "hostname ")
}

// stanzaKey orders top-level objects: header lines, routers (default VRF
// first), IPv4 then IPv6 prefix-lists, route-maps, bfd, then anything else
// in its original order.
func stanzaKey(first string) (int, string) {
	f := strings.Fields(first)
	word := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch {
	case word(0) == "frr":
		return 0, ""
	case word(0) == "log" || (word(0) == "bgp" && word(1) == "route-map"):
		return 1, ""
	case word(0) == "router" && word(1) == "bgp":
		return 2, word(4) // router bgp ASN vrf NAME
	case word(0) == "ip" && word(1) == "prefix-list":
		return 3, word(2)
	case word(0) == "ipv6" && word(1) == "prefix-list":
		return 4, word(2)
	case word(0) == "route-map":
		// entries by seq: FRR evaluates them in that order whatever order
		// a daemon prints them in (the merged view of several daemons
		// need not keep it)
		seq, _ := strconv.ParseUint(word(3), 10, 32)
		return 5, fmt.Sprintf("%s %010d", word(1), seq)
	case word(0) == "bfd":
		return 6, ""
	}
	return 7, ""
}

// sortBFDProfiles orders the blocks of a bfd stanza (` profile NAME` or
// ` peer ...` and their lines) by their first line.
func sortBFDProfiles(s []string) []string {
	var blocks [][]string
	var rest []string
	for _, line := range s[1:] {
		switch {
		case line == "exit":
			rest = append(rest, line)
		case strings.HasPrefix(line, "  ") || line == " exit":
			if len(blocks) > 0 {
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], line)
				continue
			}
			rest = append(rest, line)
		default:
			blocks = append(blocks, []string{line})
		}
	}
	slices.SortStableFunc(blocks, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	out := []string{s[0]}
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, rest...)
}
