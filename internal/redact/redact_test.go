package redact

import (
	"errors"
	"strings"

	"github.com/go-logr/logr/funcr"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestText(t *testing.T) {
	const pw = "herald-lab-md5"
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{
			name: "running config line",
			in:   " neighbor 198.51.100.3 password herald-lab-md5\n neighbor 198.51.100.3 timers 3 9\n",
			want: " neighbor 198.51.100.3 password <redacted>\n neighbor 198.51.100.3 timers 3 9\n",
		},
		{
			name: "no form",
			in:   " no neighbor 198.51.100.3 password herald-lab-md5",
			want: " no neighbor 198.51.100.3 password <redacted>",
		},
		{
			name: "vtysh -f, a daemon refusing the line",
			in:   "line 12: Failure to communicate[13] to bgpd, line:  neighbor 198.51.100.11 password herald-lab-md5",
			want: "line 12: Failure to communicate[13] to bgpd, line:  neighbor 198.51.100.11 password <redacted>",
		},
		{
			name: "vtysh -C, the parser refusing the line",
			in:   "line 18: % Unknown command[25]:  neighbor 198.51.100.99 password herald-lab-md5 extra",
			want: "line 18: % Unknown command[25]:  neighbor 198.51.100.99 password <redacted> extra",
		},
		{
			name: "frr-reload.py, a refused file (Python repr of the exception's args)",
			in:   "frr-reload.py failed due to\n('line 2: Failure to communicate[13] to bgpd, line:  neighbor 198.51.100.11 password herald-lab-md5\\n',)",
			want: "frr-reload.py failed due to\n('line 2: Failure to communicate[13] to bgpd, line:  neighbor 198.51.100.11 password <redacted>",
		},
		{
			name: "frr-reload.py, a refused removal",
			in:   `"router bgp 64500 -- no neighbor 198.51.100.11 password herald-lab-md5" we failed to remove this command`,
			want: `"router bgp 64500 -- no neighbor 198.51.100.11 password <redacted> we failed to remove this command`,
		},
		{
			name: "vtysh -c arguments in an error",
			in:   `vtysh -c configure terminal -c router bgp 64500 -c neighbor 198.51.100.11 password herald-lab-md5 -c end: exit status 1`,
			want: `vtysh -c configure terminal -c router bgp 64500 -c neighbor 198.51.100.11 password <redacted> -c end: exit status 1`,
		},
		{
			name: "a vty refusal quoted by Go, password with a quote",
			in:   `FRR refused "neighbor 198.51.100.11 password a\"b" (status 13): % Can not configure the local system as neighbor`,
			want: `FRR refused "neighbor 198.51.100.11 password <redacted> (status 13): % Can not configure the local system as neighbor`,
		},
		{
			name: "JSON of a rendered file",
			in:   `{"rendered":"router bgp 64500\n neighbor 198.51.100.11 password herald-lab-md5\n!\n"}`,
			want: `{"rendered":"router bgp 64500\n neighbor 198.51.100.11 password <redacted>`,
		},
		{
			name:    "a known secret in another shape",
			in:      "bgpd: MD5 key herald-lab-md5 refused; herald-lab-md5-2 too",
			secrets: []string{pw, pw + "-2"},
			want:    "bgpd: MD5 key <redacted> refused; <redacted> too",
		},
		{
			name:    "a known secret on a password line is redacted once",
			in:      " neighbor 198.51.100.3 password herald-lab-md5'",
			secrets: []string{pw},
			want:    " neighbor 198.51.100.3 password <redacted>'",
		},
		{
			name: "keyword at the end of a line does not take the next line",
			in:   "password\n neighbor 198.51.100.3 remote-as 64500",
			want: "password\n neighbor 198.51.100.3 remote-as 64500",
		},
		{
			name: "no secret",
			in:   " neighbor 198.51.100.3 remote-as 64500",
			want: " neighbor 198.51.100.3 remote-as 64500",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Text(tt.in, tt.secrets...)); diff != "" {
				t.Errorf("Text(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestPasswords(t *testing.T) {
	text := "router bgp 64500\n neighbor 198.51.100.3 password a\n neighbor 198.51.100.4 password b!c\n neighbor 198.51.100.5 password a\n"
	if diff := cmp.Diff([]string{"a", "b!c"}, Passwords(text)); diff != "" {
		t.Errorf("Passwords (-want +got):\n%s", diff)
	}
}

func TestLogger(t *testing.T) {
	type rejected struct{ Text, Error string }
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
	log = Logger(log, func() []string { return []string{"s3cret"} }).WithName("agent").WithValues("cfg", "neighbor 198.51.100.1 password s3cret")
	log.Info("applying neighbor 198.51.100.1 password s3cret", "why", errors.New("bgpd: s3cret refused"), "rejected", []rejected{{Text: "neighbor 198.51.100.1 password s3cret", Error: "% no"}}, "n", 3)
	log.Error(errors.New("vtysh -c neighbor 198.51.100.1 password s3cret"), "failed", "kept", "fine")
	for _, l := range lines {
		if strings.Contains(l, "s3cret") {
			t.Errorf("log line holds the secret: %s", l)
		}
	}
	if len(lines) != 2 || !strings.Contains(lines[0], `"n"=3`) || !strings.Contains(lines[1], `"kept"="fine"`) {
		t.Errorf("log lines lost their values: %q", lines)
	}
}
