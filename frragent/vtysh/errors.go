package vtysh

import (
	"regexp"
	"strconv"
	"strings"
)

// RejectedLine is one line of a config file that FRR refused.
type RejectedLine struct {
	// Line is the 1-based line number in the file FRR read; 0 when FRR did
	// not say.
	Line int `json:"line,omitempty"`
	// Text is the line as FRR echoed it, without surrounding spaces.
	Text string `json:"text,omitempty"`
	// Error is FRR's message, such as "% Unknown command" or "% Specify
	// remote-as or peer-group commands first".
	Error string `json:"error"`
}

var (
	// vtysh's parser, `vtysh -C -f` and `vtysh -f`:
	// "line 18: % Unknown command[25]:  neighbor 198.51.100.99 bogus-keyword 7"
	parseErrRE = regexp.MustCompile(`^line (\d+): (%[^\[:]*)(?:\[\d+\])?: ?(.*)$`)
	// a daemon refusing a command, `vtysh -f` (its message is on stdout):
	// "line 2: Failure to communicate[13] to bgpd, line:  neighbor ..."
	daemonErrRE = regexp.MustCompile(`^line (\d+): ([^\[]*)(?:\[\d+\])?( to \S+)?, line: ?(.*)$`)
)

// ParseRejected returns the lines vtysh reported as refused when it read a
// config file (`vtysh -C -f FILE` or `vtysh -f FILE`), in the order printed,
// from its standard output and standard error. When a daemon refused a
// command, its own message (printed on standard output) becomes the Error of
// the matching line when there is one message per refused line.
func ParseRejected(stdout, stderr string) []RejectedLine {
	var out []RejectedLine
	var daemonIdx []int
	for _, raw := range strings.Split(stderr, "\n") {
		line := strings.TrimRight(raw, "\r")
		if m := parseErrRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, RejectedLine{Line: n, Error: strings.TrimSpace(m[2]), Text: strings.TrimSpace(m[3])})
			continue
		}
		if m := daemonErrRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			daemonIdx = append(daemonIdx, len(out))
			out = append(out, RejectedLine{Line: n, Error: strings.TrimSpace(m[2]) + m[3], Text: strings.TrimSpace(m[4])})
		}
	}
	var msgs []string
	for _, raw := range strings.Split(stdout, "\n") {
		t := strings.TrimSpace(raw)
		// vtysh -f ends with XFRR_end_configuration, which zebra does not know
		if t != "" && !strings.Contains(t, "XFRR_end_configuration") {
			msgs = append(msgs, t)
		}
	}
	if len(msgs) == len(daemonIdx) {
		for k, i := range daemonIdx {
			out[i].Error = msgs[k]
		}
	}
	return out
}
