package frragent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/frragent/vtysh"
)

func TestRootRefusals(t *testing.T) {
	text := []byte("router bgp 64500\n neighbor 198.51.100.11 remote-as 64501\n neighbor 198.51.100.11 password x\n neighbor 198.51.100.12 remote-as 64501\n address-family ipv4 unicast\n  neighbor 198.51.100.11 activate\n  network 192.0.2.1/32 route-map m\n exit-address-family\nexit\n")
	self := vtysh.RejectedLine{Text: "neighbor 198.51.100.11 remote-as 64501", Error: "% Can not configure the local system as neighbor"}
	tests := []struct {
		name string
		in   []vtysh.RejectedLine
		want []vtysh.RejectedLine
	}{
		{name: "none"},
		{
			name: "a neighbor's later lines are consequences",
			in: []vtysh.RejectedLine{self,
				{Text: "neighbor 198.51.100.11 password x", Error: "% Specify remote-as or peer-group commands first"},
				{Text: "neighbor 198.51.100.11 activate", Error: "% Specify remote-as or peer-group commands first"}},
			want: []vtysh.RejectedLine{{Line: 2, Text: self.Text, Error: self.Error}},
		},
		{
			name: "independent refusals are all kept, repeats once",
			in: []vtysh.RejectedLine{self,
				{Text: "network 192.0.2.1/32 route-map m", Error: "% bad"},
				{Text: "neighbor 198.51.100.12 remote-as 64501", Error: "% other"},
				{Text: "network 192.0.2.1/32 route-map m", Error: "% bad"}},
			want: []vtysh.RejectedLine{{Line: 2, Text: self.Text, Error: self.Error},
				{Line: 7, Text: "network 192.0.2.1/32 route-map m", Error: "% bad"},
				{Line: 4, Text: "neighbor 198.51.100.12 remote-as 64501", Error: "% other"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rootRefusals(tt.in, text)); diff != "" {
				t.Errorf("rootRefusals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		status byte
		want   string
	}{
		{"FRR's message on one line", "% Can not configure the local system as neighbor\n", 13, "% Can not configure the local system as neighbor"},
		{"unknown command, no message", "", 2, "% Unknown command"},
		{"incomplete", "", 4, "% Command incomplete"},
		{"other status, no message", "", 1, "FRR refused the command (status 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reason(tt.out, tt.status); got != tt.want {
				t.Errorf("reason(%q, %d) = %q, want %q", tt.out, tt.status, got, tt.want)
			}
		})
	}
}

func TestParseCPU(t *testing.T) {
	line := "4242 (bgpd) S 1 4242 4242 0 -1 4194624 1234 0 0 0 250 37 0 0 20 0 3 0 100 500000000 3000 18446744073709551615"
	got, ok := parseCPU(line)
	if !ok || got != 2870*time.Millisecond {
		t.Errorf("parseCPU = %v, %v; want 2.87s, true", got, ok)
	}
	if _, ok := parseCPU("4242 (bgpd"); ok {
		t.Error("parseCPU accepted a line without its fields")
	}
}

func TestBatchSizeFor(t *testing.T) {
	for _, tc := range []struct {
		daemon     string
		size, want int
	}{
		{"bgpd", 100, 100},
		{"zebra", 100, 100},
		{"mgmtd", 100, 1}, // FRR 10's mgmtd drops what follows a command it hands on
		{"mgmtd", 1, 1},
	} {
		if got := batchSizeFor(tc.daemon, tc.size); got != tc.want {
			t.Errorf("batchSizeFor(%q, %d) = %d, want %d", tc.daemon, tc.size, got, tc.want)
		}
	}
}
